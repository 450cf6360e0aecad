"""`l` held down: every key is applied in order and every pane ends on the final cursor (issue 19).

The keys are posted straight to the app as a terminal delivers a held key, all at once or with a
frame between two; the panes coalesce their redraws, and none may skip the last one. The text pane
repaints only the rows a move changes, so what it has on screen is read from its held lines.
"""

from __future__ import annotations

import pytest
from textual import events
from textual.geometry import Region

from factormap.tui import text_layout as tl
from factormap.tui.widgets.text_pane import TextPane
from tests.app_helpers import APP_TEXT, make_app, settle


def drawn_cursor_cells(pane: TextPane) -> list[tuple[int, str]]:
    """(row, glyph) of every cell the pane's held lines draw in the cursor style: what is on screen,
    rows kept from earlier frames included (a move repaints only the rows it changes)."""
    lines = pane.render_lines(Region(0, 0, pane.size.width, pane.size.height))
    return [(y, seg.text) for y, strip in enumerate(lines) for seg in strip
            if seg.style is not None and seg.style.reverse]


# Paced at the narrowest size only: a frame between keys costs ~0.1 s a key, and at 160x48 a row
# is 150 keys long; the rule it checks (the row left behind is drawn again) does not depend on width.
@pytest.mark.parametrize(("size", "paced"), [((60, 16), False), ((100, 32), False), ((160, 48), False),
                                             ((60, 16), True)],
                         ids=["60x16-at-once", "100x32-at-once", "160x48-at-once", "60x16-frame-between-keys"])
async def test_a_held_l_ends_with_every_pane_on_the_final_cursor(size, paced):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        start = screen.cursor
        presses = app.query_one(TextPane).row_width + 5  # onto the next row: two rows change
        for _ in range(presses):
            app.post_message(events.Key("l", "l"))
            if paced:  # a frame between two keys: the row the cursor left must be drawn again
                await pilot.pause()
        await settle(pilot)
        final = start + presses
        assert screen.cursor == final
        pane = app.query_one(TextPane)
        assert pane.cursor == final
        # one cursor cell on screen, on the final byte: the old cursors' rows were repainted
        assert [glyph for _, glyph in drawn_cursor_cells(pane)] == [tl.GLYPHS[APP_TEXT[final]]]
        assert app.query_one("#status").cursor == final
        assert app.query_one("#oscilloscope").view.t == final
        assert app.query_one("#attribution").attribution.t == final
        assert app.query_one("#interventions").cursor == final


async def test_a_held_l_that_scrolls_redraws_the_rows_it_scrolls_to():
    app = make_app()
    async with app.run_test(size=(60, 16)) as pilot:
        await settle(pilot)
        pane = app.query_one(TextPane)
        top = pane.top
        presses = pane.row_width * pane.page_rows  # more than a page: the pane scrolls
        for _ in range(presses):
            app.post_message(events.Key("l", "l"))
        await settle(pilot)
        assert pane.top > top
        cells = drawn_cursor_cells(pane)
        assert [glyph for _, glyph in cells] == [tl.GLYPHS[APP_TEXT[presses]]]
        lines = pane.render_lines(Region(0, 0, pane.size.width, pane.size.height))
        assert lines[0].text.startswith(tl.GLYPHS[APP_TEXT[pane.top]])
