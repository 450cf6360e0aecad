"""factormap.tui: the terminal app and the command line of factormap-tui."""
