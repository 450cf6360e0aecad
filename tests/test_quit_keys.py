"""Quit keys read at the terminal start the quit before the busy event loop reaches them (issue 19).

:meth:`FactormapApp.key_read` runs in the terminal driver's input thread in the launched app;
here it is called as that thread would, and ``on_quit`` records what it was told.
"""

from __future__ import annotations

import pytest
from textual import events

from factormap.tui.screens.dashboard import DashboardScreen
from tests.app_helpers import make_app, settle

SIZE = (100, 30)


def recording(app) -> list[tuple[int, bool]]:
    calls = []
    app.on_quit = lambda code, by_key: calls.append((code, by_key))
    return calls


@pytest.mark.parametrize(("screen_keys", "typed", "quick"), [
    ([], ["ctrl+c"], True),          # ctrl+c quits from anywhere
    ([], ["q"], False),              # the explorer's grammar decides (q may be a mark's name, or prompt text)
    (["D"], ["q"], True),            # q always quits on the dashboard
    (["D"], ["escape", "q"], False),  # ...but not behind a key still queued (it could open a prompt)
    (["D"], ["escape", "ctrl+c"], True),
])
async def test_a_quit_key_read_at_the_terminal_starts_the_quit_at_once(screen_keys, typed, quick):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in screen_keys:
            await pilot.press(key)
        await pilot.pause()
        calls = recording(app)
        for key in typed:
            app.key_read(events.Key(key, "q" if key == "q" else None))
        assert calls == ([(0, True)] if quick else [])
        app.on_quit = None


async def test_a_key_read_and_handled_leaves_nothing_queued():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        calls = recording(app)
        key = events.Key("j", "j")
        app.key_read(key)
        app.post_message(key)
        await pilot.pause()
        app.key_read(events.Key("q", "q"))
        assert calls == [(0, True)]
        app.on_quit = None


async def test_q_handled_on_the_loop_quits_with_the_key_deadline_and_an_error_with_the_long_one():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = recording(app)
        await pilot.press("q")
        await pilot.pause()
        assert calls == [(0, True)] and not app.is_running

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        calls = recording(app)
        app.exit(return_code=1, message="factormap-tui: unexpected error: ...")
        await pilot.pause()
        assert calls == [(1, False)]
