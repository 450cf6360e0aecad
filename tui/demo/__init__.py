"""The demo text and the demo model trained on it, shipped so that `factormap-tui` opens something real."""
