"""Pilot tests of the explorer as a whole: layouts, sizes, help, palette, colours, start-up refusals."""

from __future__ import annotations

import math

from factormap.tui.cli import main
from factormap.tui.keymap import EXPLORER_BINDINGS
from factormap.tui.widgets.text_pane import TextPane
from tests.app_helpers import APP_TEXT, make_app, screen_text, settle

PANES = ("#text-box", "#oscilloscope", "#attribution", "#interventions", "#status")


async def test_80x24_keeps_every_pane_usable():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.screen.has_class("-wide")
        for selector in PANES:
            region = app.query_one(selector).region
            assert region.width >= 30 and region.height >= 1, selector
        assert app.query_one(TextPane).page_rows >= 4
        assert app.query_one("#attribution").region.height >= 6
        assert app.query_one("#interventions").region.height >= 6
        text = screen_text(app)
        assert "<page>" in text and "predicts" in text and "edit" in text and "t 0/" in text


async def test_resizing_switches_layouts_and_the_cursor_stays_visible():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5", "0", "0", "l")
        await settle(pilot)
        for size in [(200, 60), (80, 24), (160, 48)]:
            await pilot.resize_terminal(*size)
            await settle(pilot)
            assert app.screen.has_class("-wide") == (size[0] >= 140)
            text, scope = app.query_one(TextPane), app.query_one("#oscilloscope")
            t0, t1 = text.window
            assert t0 <= 500 < t1
            if size[0] >= 140:
                assert text.region.x < app.query_one("#attribution").region.x        # side by side
            else:
                assert text.region.y < app.query_one("#attribution").region.y        # stacked
            assert scope.view.t == 500


async def test_too_small_shows_a_notice_instead_of_a_broken_layout():
    app = make_app()
    async with app.run_test(size=(50, 12)) as pilot:
        await settle(pilot)
        assert app.screen.has_class("-too-small")
        assert "terminal too small" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert not app.screen.has_class("-too-small")
        assert "terminal too small" not in screen_text(app)


async def test_status_line_shows_names_position_and_the_streamed_bpc():
    app = make_app()
    async with app.run_test(size=(200, 40)) as pilot:  # the file names drop first: at 160 the trust figure takes them
        await settle(pilot)
        text = screen_text(app)
        bpc = app.session.bpc
        assert f"BPC {bpc:.4f}" in text
        assert "random.bin · sample.txt · H16" in text
        status = app.query_one("#status")
        assert status.bpc_done == 1.0 and status.work == ""
        assert math.isclose(status.bits, float(app.session.bits[0]))


async def test_help_lists_every_binding():
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        table = app.screen.query_one("#help-table")
        rendered = screen_text(app)
        for binding in EXPLORER_BINDINGS:
            if not binding.action.startswith("digit("):
                assert (binding.tooltip or binding.description)[:30] in rendered, binding.action
        assert table is not None
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "ExplorerScreen"
        await pilot.press("f1")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"


async def test_the_command_palette_runs_explorer_actions():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Cycle the lens")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.lens == "activation"


def test_no_color_turns_tints_into_grey_levels(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    assert app.no_color
    assert any(type(f).__name__ == "GreyLevels" for f in app._filters)
    app.session.close()


async def test_no_color_draws_every_pane_in_grey_levels(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert app.is_running and "t 1/" in screen_text(app)
        strips = app.screen._compositor.render_strips()
        for strip in strips:
            for segment in strip:
                for color in (segment.style.color, segment.style.bgcolor) if segment.style else ():
                    if color is not None and color.triplet is not None:
                        r, g, b = color.triplet
                        assert r == g == b, segment


def test_term_dumb_is_refused_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TERM", "dumb")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TERM=dumb" in err


def test_stylesheets_stay_small():
    from pathlib import Path

    import factormap.tui as tui

    sheets = list(Path(tui.__file__).parent.glob("*.tcss"))
    assert {s.name for s in sheets} >= {"global.tcss", "app.tcss"}
    for sheet in sheets:
        assert len(sheet.read_text().splitlines()) < 300, sheet


def test_the_readme_key_table_lists_every_binding():
    from pathlib import Path

    from factormap.tui.screens.help import key_label

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## The explorer"):]
    section = section[:section.index("\n## ", 5)]
    for binding in EXPLORER_BINDINGS:
        if binding.action.startswith("digit("):
            continue
        assert f"`{key_label(binding).split(', ')[0]}" in section, binding.key
    assert "docs/explorer.svg" in section


async def test_help_lists_the_panes_own_keys_too():
    app = make_app()
    async with app.run_test(size=(120, 120)) as pilot:  # tall enough for the whole help, prompt table included
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        rendered = screen_text(app)
        assert "interventions (while it has the focus)" in rendered
        for binding in app.query_one("#interventions").BINDINGS:
            assert (binding.tooltip or binding.description)[:25] in rendered


def test_the_palette_offers_every_explorer_action():
    from factormap.tui.palette import KeyActions

    actions = {action for _, _, action in KeyActions._commands(None)}
    for binding in EXPLORER_BINDINGS:  # digits are counts, i is their prefix, Textual's palette quits
        if not binding.action.startswith(("digit(", "prefix('i')")) and binding.id != "quit":
            assert binding.action in actions
    assert {f"toggle_intervention({row})" for row in range(6)} <= actions


async def test_resizing_during_background_work_keeps_the_layout_and_the_figures():
    app = make_app(text=APP_TEXT * 300)
    async with app.run_test(size=(80, 24)) as pilot:
        for size in [(200, 60), (50, 12), (120, 30), (80, 24), (170, 50)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
        await settle(pilot)
        assert app.screen.has_class("-wide") and not app.screen.has_class("-too-small")
        for selector in PANES:
            assert app.query_one(selector).region.height >= 1, selector
        assert f"BPC {app.session.bpc:.4f}" in screen_text(app)
        assert app.query_one("#oscilloscope").view.size == app.query_one("#oscilloscope").size
