"""Pilot tests of the two-key toggles: ``i{N}`` switches intervention N from any pane, counts still count."""

from __future__ import annotations

import pytest

from tests.app_helpers import make_app, screen_text, settle

SIZE = (80, 24)


@pytest.mark.parametrize("pane", ["text", "oscilloscope", "attribution", "interventions"])
async def test_i_then_a_digit_toggles_that_edit_from_every_pane(pane):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one(f"#{pane}").focus()
        rows = app.query_one("#interventions")
        await pilot.press("i", "4")
        await settle(pilot)
        assert [r.on for r in rows.rows] == [False, False, False, True, False, False]
        assert app.screen.pending == "" and app.screen.cursor == 0
        assert app.screen.delta_bits is not None
        await pilot.press("i", "5")
        await settle(pilot)
        assert [r.on for r in rows.rows] == [False, False, False, True, True, False]
        await pilot.press("i", "4", "i", "5")
        await settle(pilot)
        assert rows.active_count == 0 and app.focused.id == pane


async def test_counts_survive_the_toggles():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1", "2", "l", "i", "4", "3", "l")
        await settle(pilot)
        assert app.screen.cursor == 15 and app.query_one("#interventions").rows[3].on
        await pilot.press("5", "i", "4", "l")  # a count before i is dropped, never applied to the edit number
        await settle(pilot)
        assert app.screen.cursor == 16 and not app.query_one("#interventions").rows[3].on


async def test_an_edit_number_out_of_range_says_so_and_toggles_nothing():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i", "9")
        await settle(pilot)
        assert app.query_one("#interventions").active_count == 0
        assert any("the interventions are i1–i6" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_toggle_key_shows_on_the_status_line_and_in_the_footer(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert "i1–i6 edits" in lines[-1 if size[1] < 30 else -2]  # below 30 rows there is no footer
        if size[1] >= 30:
            assert "iN edits" in lines[-1]


async def test_a_user_features_rows_are_named_in_the_title_the_status_line_and_the_notice():
    """``:feature quote="`` adds rows 7 and 8: every place that names the toggle keys says i1–i8,
    the rows' short labels read like rows 1-2's, and ``:unfeature`` takes the range back to i1–i6."""
    from tests.test_app_features import _readout_of, _type

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.query_one("#interventions")
        assert pane.border_title == "interventions  i1–i6 toggle"
        await _type(pilot, 'feature quote="')
        await _readout_of(pilot, app.screen, "quote")
        await settle(pilot)
        assert len(pane.rows) == 8 and pane.border_title == "interventions  i1–i8 toggle"
        text = screen_text(app)
        assert "i1–i8 edits" in text.splitlines()[-2] and "i1–i6" not in text
        await pilot.resize_terminal(80, 24)  # too narrow for the rows' whole names
        await settle(pilot)
        rows = pane.render().plain
        assert "−quo step" in rows and "−quo read" in rows and "−wl step" in rows, rows
        await pilot.press("i", "9")
        await settle(pilot)
        assert any("the interventions are i1–i8" in str(n.message) for n in app._notifications)
        await _type(pilot, "unfeature quote")
        assert pane.border_title == "interventions  i1–i6 toggle"
        assert "i1–i6 edits" in screen_text(app).splitlines()[-1]  # 24 rows: no footer
