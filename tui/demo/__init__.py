"""The demo text and the demo model trained on it, shipped so that `factormap-tui` opens something real.

``demo.xml`` is a wiki page in the shape of enwik's (a MediaWiki ``<page>`` with a revision,
attributes, links, templates, a table, numbers and dates) whose prose was written for this
project. ``demo_model.bin`` was trained on it by ``factormap-tui train``; the exact command and
the model's BPC are in the README under "Demo model".
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

MODEL_FILE = "demo_model.bin"
"""File name of the demo model inside this package."""
TEXT_FILE = "demo.xml"
"""File name of the demo text inside this package."""


def demo_paths() -> tuple[Path, Path]:
    """Where the installed demo files are.

    Returns:
        ``(model_path, text_path)``: the demo model (`.bin`, H = 128) and the demo text.
    """
    root = resources.files(__name__)
    return Path(str(root / MODEL_FILE)), Path(str(root / TEXT_FILE))
