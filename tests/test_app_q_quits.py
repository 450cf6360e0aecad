"""Pilot tests: ``q`` quits the app from every screen, also while that screen still computes."""

from __future__ import annotations

import pytest

from factormap.tui.screens.dashboard import DashboardHelp, DashboardScreen
from factormap.tui.screens.help import HelpScreen
from factormap.tui.screens.inspector import InspectorScreen
from tests.app_helpers import APP_TEXT, make_app, screen_text, settle

SIZE = (100, 30)


@pytest.mark.parametrize(("keys", "screen_type"), [
    (["D"], DashboardScreen),
    (["D", "question_mark"], DashboardHelp),
    (["I"], InspectorScreen),
    (["question_mark"], HelpScreen),
])
async def test_q_quits_from_the_screen_before_its_work_is_done(keys, screen_type):
    app = make_app(text=APP_TEXT * 100)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        assert type(app.screen) is screen_type
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


@pytest.mark.parametrize("key", ["D", "I"])
async def test_the_footer_of_the_screens_over_the_explorer_shows_q_quit(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await settle(pilot)
        assert " q quit " in screen_text(app).splitlines()[-1]
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running and type(app.screen).__name__ == "ExplorerScreen"
