"""Pilot tests of the dashboard: its charts hold the report's numbers, enter jumps, layouts, saving."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.features import char_class, word_len
from factormap.engine.factor_map.representatives import neuron_peaks
from factormap.engine.session import Session
from factormap.tui.commands import report
from factormap.tui.fields import compact
from factormap.tui.screens.dashboard import DashboardScreen
from factormap.tui.screens.explorer import ExplorerScreen
from factormap.tui.widgets.charts import Chart
from factormap.tui.widgets.dashboard_specs import CHARTS, attribution_specs
from tests.app_helpers import make_app, screen_text, settle



async def open_dashboard(pilot) -> DashboardScreen:
    """Press D on the explorer and wait until every chart has its numbers."""
    await settle(pilot)
    await pilot.press("D")
    await settle(pilot, attempts=2000)
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


def chart(app, chart_id: str) -> Chart:
    return app.screen.query_one(f"#chart-{chart_id}", Chart)


def report_numbers(session: Session) -> dict:
    """Every report section's JSON for the session's model and text, computed on a fresh session."""
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["model", "text"])
    fresh = Session(session.model, session.text)
    try:
        return {name: importlib.import_module(f"factormap.tui.commands.{module}").compute(fresh, args, None)
                for name, module in report.SECTIONS.items()}
    finally:
        fresh.close()


async def test_dashboard_opens_and_every_chart_shows_the_reports_numbers():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(pilot)
        for chart_id in CHARTS:
            assert chart(app, chart_id).spec is not None, chart_id
        rep = report_numbers(app.session)
        fm, att, iv, bd = rep["factor_map"], rep["attribution"], rep["interventions"], rep["bpc_breakdown"]

        neuron = chart(app, "neuron-r")
        assert [p.title.split("|r(h_j, ")[1].split(")")[0] for p in neuron.specs] == fm["features"]
        readouts = compute_factor_map(Session(app.session.model, app.session.text)).readouts
        for page in neuron.specs:
            name = page.title.split("|r(h_j, ")[1].split(")")[0]
            r = page.values("|r|")
            assert_allclose(r, np.abs(readouts[name].per_neuron_r), rtol=1e-9)  # per unit: not in the report
            assert int(np.nanargmax(r)) == fm[f"{name}.best_neuron.index"]
            assert np.nanmax(r) == pytest.approx(abs(fm[f"{name}.best_neuron.r"]), rel=1e-9)
            assert page.hlines[0][1] == pytest.approx(abs(fm[f"{name}.cov_direction.r"]), rel=1e-9)

        wl = chart(app, "wl-encoding").spec
        assert [int(k) for k in wl.labels] == fm["word_len.cond_means.values"]
        assert_allclose(wl.values("distance"), fm["word_len.cond_means.distances"], rtol=1e-9)

        cos = chart(app, "entanglement").spec
        expected = [v for k, v in fm.items() if k.startswith("cosines.")]
        assert_allclose(cos.values("cos"), expected, rtol=1e-9)

        pages = chart(app, "propagation").specs
        carried = [name for name in fm["features"] if f"propagation.{name}.power_norms" in fm]
        assert len(pages) == len(carried) >= 1
        for page, name in zip(pages, carried):
            assert_allclose(page.values("‖Wh^k v‖"), fm[f"propagation.{name}.power_norms"], rtol=1e-9)
            assert f"cos(Wh v, v) = {compact(fm[f'propagation.{name}.cos_wh_v_v'], signed=True)}" in page.caption

        growth = chart(app, "growth").spec
        assert_allclose(growth.values("mean ratio"), att["growth"]["mean_ratio"], rtol=1e-9)
        assert_allclose(growth.values("median ratio"), att["growth"]["median_ratio"], rtol=1e-9)
        assert_allclose(growth.values("mean |a_k|"), att["input_attr"]["mean_abs"], rtol=1e-9)
        assert growth.caption == f"over all {app.session.n - 1:,} predictions"

        share = chart(app, "sparsity").spec.values("share")
        assert_allclose(share, bd["gradient_sparsity"]["mean_share"], rtol=1e-9)
        assert share[9] == pytest.approx(att["energy"]["top10_share_k0"], rel=1e-5)

        effects = chart(app, "interventions").spec
        assert_allclose(effects.values("ΔBPC"), [iv[f"{k}.delta_bpc"] for k in iv["rows"]], rtol=1e-9)
        assert_allclose(effects.band[0], [iv[f"{k}.band.min"] for k in iv["rows"]], rtol=1e-9)
        assert_allclose(effects.band[1], [iv[f"{k}.band.max"] for k in iv["rows"]], rtol=1e-9)

        breakdown = bd["breakdown"]
        for chart_id, key in (("bits-class", "by_class"), ("bits-tag", "by_tag"), ("bits-word", "by_word_position")):
            spec = chart(app, chart_id).spec
            groups = breakdown[key]
            assert [label.replace(" ", "_") for label in spec.labels] == list(groups)
            means = [np.nan if g["mean_bits"] is None else g["mean_bits"] for g in groups.values()]
            assert_allclose(spec.values("mean bits"), means, rtol=1e-9)
            assert_array_equal(spec.positions, [-1 if g["worst_position"] is None else g["worst_position"]
                                                for g in groups.values()])
        worst = chart(app, "worst").spec
        assert_array_equal(worst.positions, breakdown["worst"]["position"])
        assert_allclose(worst.values("bits"), breakdown["worst"]["bits"], rtol=1e-9)


async def _jump(pilot, chart_id: str, steps: int) -> int:
    app = pilot.app
    chart(app, chart_id).focus()
    await pilot.pause()
    await pilot.press(*(["l"] * steps), "enter")
    await settle(pilot)
    assert isinstance(app.screen, ExplorerScreen)
    return app.screen.cursor


async def test_enter_jumps_the_explorer_to_each_items_representative_position():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(pilot)
        session = app.session
        x = session.x
        peaks = neuron_peaks(Session(session.model, session.text))
        assert await _jump(pilot, "neuron-r", 3) == peaks.position[3]
        states = session.states(0, session.n)
        assert abs(states[peaks.position[3], 3]) == pytest.approx(np.max(np.abs(states[:, 3])))

        await pilot.press("D")
        await settle(pilot)
        k = int(chart(app, "wl-encoding").spec.labels[2])
        t = await _jump(pilot, "wl-encoding", 2)
        assert word_len(x)[t] == k and not np.any(word_len(x)[:t] == k)

        await pilot.press("D")
        await settle(pilot)
        t = await _jump(pilot, "bits-class", 0)                        # letter: its worst prediction
        bits = np.asarray(session.bits)
        letters = np.flatnonzero(char_class(x[1:]) == 0)
        assert t in letters and bits[t] == bits[letters].max()

        await pilot.press("D")
        await settle(pilot)
        assert await _jump(pilot, "worst", 1) == session.worst_positions(2)[1]


async def test_charts_without_positions_stay_put_and_escape_goes_back_without_moving():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(pilot)
        chart(app, "entanglement").focus()
        await pilot.press("l", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ExplorerScreen) and app.screen.cursor == 0


async def test_arrows_move_the_selection_and_pages_cycle_features():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(pilot)
        neuron = chart(app, "neuron-r")
        assert app.screen.focused is neuron
        await pilot.press("l", "l", "right", "h")
        assert neuron.selected == 2
        await pilot.press("j")
        assert neuron.page == 1 and "in_tag" in neuron.spec.title
        assert "h2: r =" in str(neuron.border_subtitle)
        await pilot.press("tab")
        assert app.screen.focused is chart(app, "wl-encoding")


async def test_80x24_stacks_the_charts_and_scrolls_to_the_focused_one():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(pilot)
        screen = app.screen
        assert not screen.has_class("-wide")
        charts = [chart(app, c) for c in CHARTS]
        scroll = screen.query_one("#dash-charts")
        assert {c.virtual_region.x for c in charts} == {0}
        assert [c.virtual_region.y for c in charts] == sorted(c.virtual_region.y for c in charts)
        assert all(c.region.width >= 70 and c.virtual_region.height >= 12 for c in charts)
        assert scroll.max_scroll_y > 0
        charts[-1].focus()
        await settle(pilot)
        assert scroll.scroll_y > 0
        assert charts[-1].region.height > 0 and charts[-1].region.y < 24
        assert "worst predictions" in screen_text(app)


async def test_wide_terminals_lay_the_charts_out_in_a_grid():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_dashboard(pilot)
        assert app.screen.has_class("-wide")
        first, second = chart(app, "neuron-r"), chart(app, "wl-encoding")
        assert first.region.y == second.region.y and first.region.x < second.region.x


async def test_save_writes_the_svg_and_the_numbers_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_dashboard(pilot)
        await pilot.press("S")
        await settle(pilot)
    svg, numbers = tmp_path / "factormap_random_sample_t0.svg", tmp_path / "factormap_random_sample_t0.json"
    assert svg.read_text().lstrip().startswith("<svg")
    data = json.loads(numbers.read_text(), parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert data["model"] == "random.bin" and data["position"] == 0
    assert data["text_bytes"] == app.session.n and "n" not in data  # a key names its quantity
    assert set(data) >= {"breakdown", "factor_map", "peaks", "sparsity", "attribution", "interventions"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [numbers.name, svg.name]


def test_long_texts_summarise_attribution_over_a_prefix(monkeypatch, random_model):
    from factormap.engine.attribution.summary import attribution_summary
    from factormap.tui import dashboard_jobs

    monkeypatch.setattr(dashboard_jobs, "ATTRIBUTION_PREFIX", 300)
    model = random_model(8, seed=1)
    text = bytes(make_app().session.text)
    whole, prefix = Session(model, text), Session(model, text[:300])
    try:
        summary, peaks = dashboard_jobs.compute_part(whole, "attribution", None, lambda: False)
        expected = attribution_summary(prefix)
        assert summary.count[0] == 299
        assert_allclose(summary.growth_mean, expected.growth_mean, rtol=1e-9)
        assert np.all((peaks >= 0) & (peaks < 299))
        caption = attribution_specs((summary, peaks), whole.n - 1)["growth"][0].caption
        assert caption == f"over the first 299 of {whole.n - 1:,} predictions"
    finally:
        whole.close()
        prefix.close()


async def test_a_click_selects_the_item_under_the_pointer():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(pilot)
        tags = chart(app, "bits-tag")
        app.screen.query_one("#dash-charts").scroll_to_widget(tags, animate=False, top=True)
        await settle(pilot)
        assert app.screen.focused is not tags
        width = tags.size.width
        await pilot.click(tags, offset=(width - 4, tags.size.height // 2))
        assert tags.selected == 1 and app.screen.focused is tags
        await pilot.click(tags, offset=(10, tags.size.height // 2))
        assert tags.selected == 0


async def test_the_command_palette_opens_the_dashboard():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Open the dashboard")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, attempts=2000)
        assert isinstance(app.screen, DashboardScreen)


async def test_a_text_too_short_for_some_charts_says_so_and_draws_the_rest(random_model):
    from factormap.tui.app import FactormapApp

    app = FactormapApp(Session(random_model(8, seed=4), b"ab cd"), Path("tiny.bin"), Path("tiny.txt"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_dashboard(pilot)
        assert chart(app, "worst").spec.labels                       # the breakdown needs two bytes only
        wl = chart(app, "wl-encoding")                               # no word length has 20 positions
        assert wl.spec.labels == () and "nothing to draw" in wl.empty_note
        assert screen.query_one("#dash-progress").has_class("-hidden")
        wl.focus()
        await pilot.press("l", "enter")
        assert isinstance(app.screen, DashboardScreen)


def test_a_part_that_fails_is_reported_and_the_next_parts_still_come(monkeypatch):
    from factormap.tui import dashboard_jobs

    def fake(session, name, progress, should_stop):
        if name == "sparsity":
            raise ValueError("too short for this")
        return name

    monkeypatch.setattr(dashboard_jobs, "compute_part", fake)
    posted = []
    dashboard_jobs.compute_parts(None, ["peaks", "sparsity", "attribution"], posted.append, lambda: False)
    assert [(type(m).__name__, m.name) for m in posted] == [
        ("PartReady", "peaks"), ("PartFailed", "sparsity"), ("PartReady", "attribution")]
    assert posted[1].error == "ValueError: too short for this"


async def test_a_failed_part_says_why_on_its_charts(monkeypatch):
    from factormap.tui import dashboard_jobs

    real = dashboard_jobs.compute_part

    def failing(session, name, progress, should_stop):
        if name == "attribution":
            raise MemoryError("the summary does not fit")
        return real(session, name, progress, should_stop)

    monkeypatch.setattr(dashboard_jobs, "compute_part", failing)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_dashboard(pilot)
        growth = chart(app, "growth")
        assert growth.spec.labels == () and "the summary does not fit" in growth.empty_note
        assert chart(app, "interventions").spec.labels
        assert screen.query_one("#dash-progress").has_class("-hidden")


async def test_question_mark_lists_the_dashboards_keys():
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_dashboard(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "dashboard keys" in text and "representative position" in text and ".svg" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
