"""Under NO_COLOR every colour that carries meaning has a glyph twin: the oscilloscope's traces are
drawn with a glyph each, and the Δbits lens underlines worse bytes and slants better ones."""

from __future__ import annotations

from factormap.tui.widgets.oscilloscope_frame import COMPACT_ROWS, TRACE_MARKERS
from factormap.tui.widgets.text_pane import TextPane
from tests.app_helpers import make_app, screen_text, settle


async def test_traces_have_glyph_twins_under_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        scope = app.query_one("#oscilloscope")
        frame = scope.frame_text()
        for marker in TRACE_MARKERS[:len(scope.neurons)]:
            assert marker in frame
        legend = f"{TRACE_MARKERS[0]} h[{scope.neurons[0]}]"  # the legend names the glyph
        assert legend in frame or legend in screen_text(app)


async def test_without_no_color_the_traces_are_lines():
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        frame = app.query_one("#oscilloscope").frame_text()
        plot = "\n".join(frame.splitlines()[:-1])  # the last line holds the bytes
        assert not set(TRACE_MARKERS[1:]) & set(plot.replace(" h[", ""))


async def test_a_short_oscilloscope_gives_its_rows_to_the_traces_and_its_legend_to_the_border():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        scope = app.query_one("#oscilloscope")
        assert scope.size.height <= COMPACT_ROWS
        frame = scope.frame_text().splitlines()
        assert len(frame) == scope.size.height and "t=" not in frame[0]  # no title row: traces from the top
        assert f"{TRACE_MARKERS[0]} h[{scope.neurons[0]}]" in screen_text(app)


async def test_the_delta_bits_lens_marks_better_and_worse_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("i", "4", "v", "v", "v")
        await settle(pilot)
        assert app.screen.lens == "delta_bits"
        pane = app.query_one(TextPane)
        styles = [seg.style for y in range(pane.page_rows) for seg in pane.render_line(y) if seg.style]
        deltas = app.screen.delta_bits[:pane.window[1]]
        assert (deltas > 0.02).any() and (deltas < -0.02).any()
        assert any(s.underline for s in styles) and any(s.italic for s in styles)
