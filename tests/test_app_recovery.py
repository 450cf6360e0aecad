"""Pilot tests of how the explorer recovers: a failed export, a maximised oscilloscope, a terminal
that starts too small (issue 14, defects 4, 5 and 7), page keys in a palette not yet drawn."""

from __future__ import annotations

from textual import events
from textual.command import CommandPalette

from factormap.tui import jobs
from factormap.tui.widgets.status_line import StatusLine
from tests.app_helpers import make_app, settle


async def test_a_failed_export_says_why_and_leaves_the_status_line(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    def read_only(path, arrays):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(jobs, "write_npz", read_only)
    app = make_app()
    errors = []
    notify = app.notify
    app.notify = lambda message, *a, severity="information", **k: (
        errors.append(message) if severity == "error" else None, notify(message, *a, severity=severity, **k))[1]
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        assert any("Read-only" in str(e) for e in errors), errors
        assert app.screen.query_one(StatusLine).work == ""
        assert list(tmp_path.iterdir()) == []


async def test_z_on_the_oscilloscope_fills_the_screen_and_its_frame_follows():
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        scope = app.screen.query_one("#oscilloscope")
        small = scope.size
        scope.focus()
        await pilot.press("z")
        await settle(pilot)
        assert app.screen.maximized is scope
        assert scope.size.height > 2 * small.height and scope.size.width >= small.width
        assert scope.view.size == (scope.size.width, scope.size.height)
        await pilot.press("z")
        await settle(pilot)
        assert app.screen.maximized is None and scope.size == small


async def test_started_too_small_then_enlarged_the_text_has_the_focus_and_tab_goes_on_from_it():
    app = make_app()
    async with app.run_test(size=(59, 15)) as pilot:
        await settle(pilot)
        assert app.screen.has_class("-too-small")
        await pilot.resize_terminal(100, 32)
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#text")
        await pilot.press("tab", "tab", "tab")
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#interventions")
        await pilot.press("4")
        await settle(pilot)
        assert app.screen.query_one("#interventions").rows[3].on
        assert app.screen.pending == ""


async def test_page_keys_right_after_ctrl_p_do_nothing_instead_of_ending_the_app():
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        for key in ("ctrl+p", "pageup", "pagedown"):      # one burst: the list is not laid out yet
            app.post_message(events.Key(key, None))
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette) and app.is_running
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
