"""Helpers of the app tests: a small deterministic app, its screen as plain text, settling work."""

from __future__ import annotations

from pathlib import Path

from factormap.engine.model import Model
from factormap.engine.session import Session
from factormap.tui.app import FactormapApp
from tests.conftest import SAMPLE_TEXT
from tests.naive import random_model_arrays
from tests.pilot_support import settle  # noqa: F401  (the app tests import it from here)

APP_TEXT = SAMPLE_TEXT * 6 + b"tab\there\r\nbytes \x00\xff\xe2\x82\xac end.\n"
"""The text the test apps explore: wiki-like XML, a tab, CRLF and non-ASCII bytes."""


def make_app(H: int = 16, seed: int = 3, text: bytes = APP_TEXT) -> FactormapApp:
    """A FactormapApp on a deterministic random model (float32) and ``text``."""
    model = Model(**random_model_arrays(H, seed, 1.0), source=f"random H={H} seed={seed}")
    return FactormapApp(Session(model, text), Path("random.bin"), Path("sample.txt"))


def make_demo_app() -> FactormapApp:
    """A FactormapApp on the shipped demo model and text (no start-up notice)."""
    from factormap.engine.model import load_model
    from factormap.engine.text import load_text
    from factormap.tui.demo import demo_paths

    model_path, text_path = demo_paths()
    session = Session(load_model(model_path), load_text(text_path))
    return FactormapApp(session, model_path, text_path)


def screen_text(app) -> str:
    """The whole screen as plain text, one line per row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)
