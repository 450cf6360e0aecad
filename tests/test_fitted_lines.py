"""Lines that read whole at every width (issue 15): the lens legend, the dashboard's head, the
attribution pane's prediction, top-N and title lines, and the search escapes the help lists."""

from __future__ import annotations

import re

import pytest
from rich.text import Text

from factormap.tui import motions
from factormap.tui.fields import compact
from factormap.tui.dashboard_jobs import PARTS
from factormap.tui.lenses import LENS_ORDER, LENSES
from factormap.tui.screens.dashboard import PART_WORK, work_under_way
from tests.app_helpers import make_app, make_demo_app, screen_text, settle

SIZES = [(80, 24), (100, 30), (160, 48)]
"""The terminal sizes of the snapshot tests."""


@pytest.mark.parametrize("size", SIZES)
async def test_the_legend_shows_each_lens_with_whole_phrases(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        legend = app.screen.query_one("#legend")
        for name in LENS_ORDER:
            assert app.screen.lens == name
            line = legend.render().plain
            lens = LENSES[name]
            assert line.rstrip() in screen_text(app)  # drawn as rendered: nothing beyond the width
            assert len(line) <= legend.size.width, line
            phrases = (lens.meaning, *lens.briefs, "no intervention active", "no edit active",
                       lens.unit or lens.labels[-1])
            assert line.rstrip().endswith(phrases), line  # a whole phrase last, never one cut short
            assert any(phrase in line for phrase in (lens.meaning, *lens.briefs)), line
            await pilot.press("v")
            await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
async def test_the_dashboard_head_keeps_the_work_under_way_whole(size):
    app = make_demo_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await pilot.pause()
        head = app.screen.query_one("#dash-head")
        for part, name in enumerate(PARTS, start=1):
            head.work = work_under_way(name, part, len(PARTS))
            line = head.render().plain  # read at once: the dashboard's own progress sets the work too
            assert line.startswith("dashboard · demo_model.bin") and line.endswith(f"of {len(PARTS)}"), line
            assert len(line) <= head.size.width
            assert "_" not in line.replace("demo_model", ""), line  # no code identifier ('factor_map')
            if size[0] >= 100:  # both files named, before H and the length
                assert "demo_model.bin on demo.xml" in line and f"computing {PART_WORK[name]}" in line, line


async def _attribution_lines(app, pilot, keys=()):
    pane = app.screen.query_one("#attribution")
    for key in keys:
        await pilot.press(key)
    await settle(pilot, attempts=2000)
    return pane, pane.render().plain.split("\n")


@pytest.mark.parametrize("size", SIZES[1:])  # at 24 rows there is no row to spare for it
async def test_top_n_says_how_many_it_shows(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        pane, lines = await _attribution_lines(app, pilot, "lllll")
        top = [line for line in lines if line.startswith("top-") and ":" in line.split()[0]]
        shown = top[0].split()
        n = (len(shown) - 1) // 2
        assert shown[0] == f"top-{n}:" and 1 <= n <= 5, top[0]
        assert len(top[0]) <= pane.size.width
        att = pane.attribution  # each p in the compact form, as the head's p (QA: '" 0.000' for 3.1e−6)
        assert shown[2::2] == [compact(p) for p in att.top_probs[:n]], top[0]


@pytest.mark.parametrize("size", SIZES)
async def test_a_contrast_shows_its_value_and_names_each_p(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        pane = app.screen.query_one("#attribution")
        await pilot.press(*"lllll")
        await settle(pilot)
        pane.set_target(ord("e"), ord("a"))
        pane, lines = await _attribution_lines(app, pilot)
        att = pane.attribution
        assert f"= {compact(att.value, signed=True)} nats" in lines[0], lines[0]
        assert "p=" not in lines[0]  # every p names its byte: p(e)=…, p(a)=…
        if size[0] >= 160:
            assert "p(e)=" in lines[0]
        title = next(line for line in lines if line.startswith("‖g_k‖"))
        assert "nats" in title and "ln p(" in title, title


async def test_the_neuron_mode_label_says_what_is_differentiated():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane, lines = await _attribution_lines(app, pilot, "lllllccc")
        assert pane.mode == "neuron"
        assert any(line.startswith("g_k[0] = ∂ ln p/∂h_0(t−k)") for line in lines), lines


def test_the_help_lists_exactly_the_escapes_the_search_accepts():
    from factormap.tui.keymap import EXPLORER_BINDINGS

    search = next(b for b in EXPLORER_BINDINGS if b.id == "search")
    assert motions.SEARCH_ESCAPES in search.tooltip
    listed = motions.SEARCH_ESCAPES.split()
    for escape in listed:
        motions.parse_pattern(escape.replace("NN", "41"))  # accepted
    for letter in "abefqvz0N":
        if f"\\{letter}" not in listed:
            with pytest.raises(ValueError, match=re.escape(motions.SEARCH_ESCAPES)):
                motions.parse_pattern(f"\\{letter}")


async def test_the_help_screen_shows_every_search_escape():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert motions.SEARCH_ESCAPES in screen_text(app)


async def test_a_narrow_legend_keeps_its_whole_scale():
    """At 60x16 the text pane is 28 columns wide: the scale's every label shows, with its unit (bits),
    the title (also on the border) and the meaning giving way first."""
    app = make_app()
    async with app.run_test(size=(60, 16)) as pilot:
        await settle(pilot)
        legend = app.screen.query_one("#legend")
        for name in LENS_ORDER:
            line = legend.render().plain
            assert len(line) <= legend.size.width, line
            assert all(label in line for label in LENSES[name].labels), line
            assert line.rstrip().endswith(LENSES[name].unit or LENSES[name].labels[-1]), line  # its unit too
            await pilot.press("v")
            await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_help_lists_every_prompt_command_with_its_meaning(size):
    from factormap.tui.screens.explorer_features import FEATURE_COMMANDS
    from factormap.tui.screens.explorer_record import PROMPT_COMMANDS

    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        text = screen_text(app)
        for word in (*PROMPT_COMMANDS, *FEATURE_COMMANDS):
            row = next((line for line in text.splitlines() if f" :{word} " in line), "")
            meaning = row.split(f":{word} ", 1)[-1].strip(" │")
            assert meaning and meaning.split()[0] in (PROMPT_COMMANDS | FEATURE_COMMANDS)[word], (word, text)
        assert ":123" in text and "go to position 123" in text, text


async def test_a_narrow_oscilloscope_title_drops_its_keys_whole():
    """At 60x16 the oscilloscope's border is too narrow for its keys: the title is its name alone,
    never 'oscilloscope  a/x add/d…'; at 160x48 the keys are back."""
    app = make_app()
    async with app.run_test(size=(60, 16)) as pilot:
        await settle(pilot)
        scope = app.screen.query_one("#oscilloscope")
        assert str(scope.border_title) == "oscilloscope", scope.border_title
        assert "…" not in screen_text(app).splitlines()[scope.region.y]
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert str(scope.border_title) == "oscilloscope  a/x add/drop the selected neuron"


@pytest.mark.parametrize("size", [(60, 16), (80, 24), (160, 48)])
async def test_dashboard_notes_drop_whole_phrases_and_captions_name_their_feature(size):
    """Every chart's border note (the selected item's figures) fits its border by dropping whole
    phrases (QA: '· enter: first…'); the correlation chart's caption names the feature f of each
    page; the word-length caption gives k as the whole length it is."""
    from factormap.tui.widgets.charts import Chart
    from factormap.tui.widgets.pane_title import TITLE_MARGIN

    app = make_demo_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot, attempts=2000)
        for chart in app.screen.query(Chart):
            title = Text.from_markup(str(chart.border_title)).plain  # the concept, then the formula if it fits
            assert len(title) <= chart.outer_size.width - TITLE_MARGIN and chart.placeholder.startswith(title), title
            for page in range(len(chart.specs)):
                chart.page = page
                for item in range(len(chart.spec.labels)):
                    chart.selected = item
                    note = Text.from_markup(str(chart.border_subtitle)).plain
                    assert len(note) <= chart.outer_size.width - TITLE_MARGIN, (chart.id, note)
                    shown = note.split(" · ")[0].split("  j/k: ")[0]
                    if chart.spec.numbered(chart.size.width):  # the axis numbers the items
                        shown = shown.removeprefix(f"{item + 1}: ")
                    assert shown in chart.spec.notes[item], (chart.id, note)
                    page_field = f"  j/k: {page + 1}/{len(chart.specs)}"
                    width = chart.outer_size.width - TITLE_MARGIN
                    first = chart.spec.notes[item].split(" · ")[0]
                    if chart.spec.numbered(chart.size.width):
                        first = f"{item + 1}: {first}"
                    if len(chart.specs) > 1 and len(first + page_field) <= width:  # the page before any phrase
                        assert note.endswith(page_field), note
        correlation = app.screen.query_one("#chart-neuron-r", Chart)
        fm = app.screen.data.parts["factor_map"][0]
        assert [spec.caption.split(":")[0] for spec in correlation.specs] == [f"f = {n}" for n in fm.readouts]
        caption = app.screen.query_one("#chart-wl-encoding", Chart).spec.caption
        assert re.fullmatch(r"max \S+ at k = \d+", caption), caption
        assert all("t=" not in n or re.search(r"t=\d{1,3}(,\d{3})*$", n) for n in correlation.spec.notes)


async def test_a_contrast_at_60x16_keeps_its_value_whole():
    """At 60x16 the attribution pane is 28 columns: the contrast's value and unit show whole (it
    read 't=50: ln p(e)−ln p(a) = +3.6', clipped), t= and the title's 'of …' giving way first."""
    app = make_app()
    async with app.run_test(size=(60, 16)) as pilot:
        await settle(pilot)
        await pilot.press(*"lllll")
        pane = app.screen.query_one("#attribution")
        pane.set_target(ord("e"), ord("a"))
        pane, lines = await _attribution_lines(app, pilot)
        assert lines[0].endswith(f"= {compact(pane.attribution.value, signed=True)} nats"), lines[0]
        assert all(len(line) <= pane.size.width for line in lines[:2]), lines[:2]
        assert lines[1].startswith("‖g_k‖") and "nats" in lines[1], lines[1]


def test_the_interventions_description_breaks_between_whole_phrases():
    """The line under the interventions table is broken between phrases, so the lines the pane has
    room for end whole (QA at 100x30: '…(computes the factor map' with 'first)' on a dropped line)."""
    from factormap.tui.widgets.interventions_view import phrase_lines

    needs = "(computes the factor map first)"
    text = f" 3: subtract the write-in oracle direction u_wl at every step {needs}"
    figures = " 1: −u_wl every step │ band of 4 nudged re-runs [+6.64, +7.10] bits │ residual r(wl) 0.0123"
    for width in range(len(needs) + 1, 100):
        for line_set in (phrase_lines(text, width), phrase_lines(figures, width)):
            assert all(len(line) <= width for line in line_set), (width, line_set)
        assert " ".join(phrase_lines(text, width)).split() == text.split()  # every word, in order
        assert any(line.strip() == needs or line.endswith(f" {needs}") for line in phrase_lines(text, width)), width
        if width >= max(len(phrase) for phrase in figures.split(" │ ")) + 3:  # each " │ phrase" fits a line
            for line in phrase_lines(figures, width):
                assert line.endswith(("every step", "bits", "0.0123")), (width, line)


@pytest.mark.parametrize("spare", [0, 2])
@pytest.mark.parametrize("width", [24, 41])
async def test_a_fitted_title_that_fills_its_border_is_not_cut_by_textual(width, spare):
    """``fit`` is given what Textual leaves a border title (TITLE_MARGIN): a title that fills it
    exactly is drawn whole; one 2 cells longer drops its last field rather than being ended with
    the ``…`` Textual puts on a title that is too long."""
    from textual.app import App
    from textual.widgets import Static

    from factormap.tui.fields import Field
    from factormap.tui.widgets.pane_title import FittedTitle

    class Pane(FittedTitle, Static):
        DEFAULT_CSS = f"Pane {{ border: round white; width: {width}; height: 4; }}"

    class PaneApp(App):
        def compose(self):
            yield Pane("body")

    app = PaneApp()
    async with app.run_test(size=(60, 8)) as pilot:
        pane = app.query_one(Pane)
        pane.set_title(Field("p" * (width - 16 + spare)), Field("q" * 9, 1, separator=" "))
        await pilot.pause()
        top = screen_text(app).splitlines()[0]
        assert "…" not in top, top
        assert ("q" * 9 in top) == (spare == 0), top
