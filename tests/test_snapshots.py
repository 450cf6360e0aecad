"""Snapshot tests of the explorer's main screen (``pytest --snapshot-update`` after looking at the diff)."""

from __future__ import annotations

from pathlib import Path

import plotext._utility
import pytest

from tests.app_helpers import settle

APP = Path(__file__).parent / "snapshot_app.py"


@pytest.fixture
def stable_plotext_ticks(monkeypatch):
    """plotext drops duplicate (row, label) ticks through a set, so on a plot of two or three rows
    the surviving y label depends on PYTHONHASHSEED; keep the first one, as its own comment suggests."""
    monkeypatch.setattr(plotext._utility, "no_duplicates", lambda data: list(dict.fromkeys(data)))


async def _ready(pilot) -> None:
    pilot.app.query_one("#prompt").cursor_blink = False
    await settle(pilot)
    await pilot.press("1", "2", "l")
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(snap_compare, stable_plotext_ticks, size):
    assert snap_compare(APP, terminal_size=size, run_before=_ready)
