"""Snapshot tests of the explorer, the dashboard and the help at three sizes, on the demo model
(``pytest --snapshot-update`` after looking at the diff); tests/test_no_cut_figures.py scans the same
screens, and more, for a figure cut short."""

from __future__ import annotations

from pathlib import Path

import plotext._utility
import pytest

from tests.app_helpers import settle

APP = Path(__file__).parent / "snapshot_app.py"
SIZES = {"80x24": (80, 24), "100x30": (100, 30), "160x48": (160, 48)}
"""The terminal sizes every screen is drawn at."""


@pytest.fixture
def stable_plotext_ticks(monkeypatch):
    """plotext drops duplicate (row, label) ticks through a set, so on a plot of two or three rows
    the surviving y label depends on PYTHONHASHSEED; keep the first one, as its own comment suggests."""
    monkeypatch.setattr(plotext._utility, "no_duplicates", lambda data: list(dict.fromkeys(data)))


async def _explorer(pilot) -> None:
    """The cursor 12 bytes in, the first two edits on, every figure computed."""
    pilot.app.query_one("#prompt").cursor_blink = False
    await settle(pilot)
    await pilot.press("1", "2", "l", "i", "1", "i", "2")
    await settle(pilot, attempts=2000)


async def _dashboard(pilot) -> None:
    pilot.app.query_one("#prompt").cursor_blink = False
    await settle(pilot)
    await pilot.press("D")
    await settle(pilot, attempts=2000)


async def _help(pilot) -> None:
    pilot.app.query_one("#prompt").cursor_blink = False
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


SCREENS = {"explorer": _explorer, "dashboard": _dashboard, "help": _help}
"""How each screen is reached from the start, with its figures computed."""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen_snapshot(snap_compare, stable_plotext_ticks, screen, size):
    assert snap_compare(APP, terminal_size=SIZES[size], run_before=SCREENS[screen])
