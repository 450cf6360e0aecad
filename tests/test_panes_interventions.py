"""Pilot tests of the interventions pane: toggles run the engine, post Δbits, and cancel when repeated."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.interventions.run import EditedRun, intervention_delta
from factormap.engine.interventions.specs import AblateNeurons, RandomDirection, SubtractAtReadout
from factormap.engine.session import Session
from factormap.tui.fields import compact
from factormap.tui.widgets.bars import progress_bar
from factormap.tui.widgets.interventions_pane import InterventionsPane
from factormap.tui.widgets.intervention_rows import ROWS, run_row
from tests.panes_support import PANE_TEXT, PaneApp, wait_for_workers

READOUT_ROW = 1
ORACLE_ROW = 2
RANDOM_ROW = 3
ABLATE_ROW = 4


def c(value: float) -> str:
    """A Δ figure as the pane shows it."""
    return compact(value, signed=True)


class Recorder(PaneApp):
    """Keeps what the pane posts to the app."""

    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.deltas = []
        self.factor_maps = []

    def on_interventions_pane_delta_bits_changed(self, message: InterventionsPane.DeltaBitsChanged) -> None:
        self.deltas.append(message.delta_bits)

    def on_interventions_pane_factor_map_ready(self, message: InterventionsPane.FactorMapReady) -> None:
        self.factor_maps.append(message)


@pytest.fixture
def session(random_model):
    s = Session(random_model(16, seed=7, scale=1.5), PANE_TEXT)
    yield s
    s.close()


async def settle(pilot, pane: InterventionsPane) -> None:
    """Wait until every row that is on has its result (and band) and the factor map is done."""
    for _ in range(100):
        await wait_for_workers(pilot, rounds=1)
        if all(r.stage in ("done", "error") for r in pane.rows if r.on) and pane.factor_map_fraction is None:
            await wait_for_workers(pilot)
            return
    raise AssertionError("the interventions pane never settled")


async def test_toggle_shows_the_engines_delta_and_toggling_again_restores(session):
    pane = InterventionsPane(session, id="interventions")
    app = Recorder(pane)
    async with app.run_test(size=(100, 16)) as pilot:
        pane.set_cursor(50)
        pane.toggle(READOUT_ROW)
        await settle(pilot, pane)
        assert len(app.factor_maps) == 1
        fm = compute_factor_map(session)
        u_wl = fm.readouts["word_len"].cov_direction
        np.testing.assert_allclose(app.factor_maps[0].directions["u_wl"], u_wl)
        np.testing.assert_allclose(app.factor_maps[0].directions["u_tag"], fm.readouts["in_tag"].cov_direction)
        spec = SubtractAtReadout(u_wl, name="u_wl")
        expected = intervention_delta(session, [spec])
        row = pane.rows[READOUT_ROW]
        assert row.result.delta_bpc == pytest.approx(expected.delta_bpc, abs=1e-6)
        assert expected.delta_bpc != 0
        np.testing.assert_allclose(app.deltas[-1], expected.delta_bits, atol=1e-5)
        run = EditedRun(session, [spec])
        at, window = run.delta_at(50), run.window_delta_bpc(*pane.window)
        text = pane.render().plain
        assert f" {c(expected.delta_bpc)}" in text
        assert f" {c(at)}" in text and f" {c(window)}" in text
        pane.highlighted = READOUT_ROW
        assert spec.describe() in pane.render().plain
        assert pane.has_class("-has-edits")
        # the cursor moves: figures follow, from the completed run
        pane.set_cursor(200)
        pane.set_window(150, 250)
        await wait_for_workers(pilot)
        assert f" {c(run.delta_at(200))}" in pane.render().plain
        assert f" {c(run.window_delta_bpc(150, 250))}" in pane.render().plain
        # toggling again switches it off and tells the app there is nothing to show
        pane.toggle(READOUT_ROW)
        await wait_for_workers(pilot)
        assert app.deltas[-1] is None and pane.delta_bits is None
        assert not pane.rows[READOUT_ROW].on and f" {c(expected.delta_bpc)}" not in pane.render().plain
        assert not pane.has_class("-has-edits")


async def test_toggling_twice_cancels_the_running_worker(session):
    pane = InterventionsPane(session)
    app = Recorder(pane)
    async with app.run_test(size=(100, 16)) as pilot:
        pane.toggle(RANDOM_ROW)
        running = [w for w in app.workers if w.group == f"intervention-{RANDOM_ROW}"]
        assert running and not any(w.is_cancelled for w in running)
        pane.toggle(RANDOM_ROW)
        assert all(w.is_cancelled for w in running)
        await wait_for_workers(pilot)
        assert not pane.rows[RANDOM_ROW].on and pane.rows[RANDOM_ROW].result is None
        assert app.deltas == [] and pane.delta_bits is None
        # a report from the cancelled run arriving late is ignored
        stale = InterventionsPane.RowUpdate(RANDOM_ROW, pane.rows[RANDOM_ROW].token - 1, {"stage": "done"})
        pane.post_message(stale)
        await pilot.pause()
        assert pane.rows[RANDOM_ROW].stage == ""
        # and switching on again runs to the engine's figure
        pane.toggle(RANDOM_ROW)
        await settle(pilot, pane)
        expected = intervention_delta(session, [RandomDirection(0)])
        assert pane.rows[RANDOM_ROW].result.delta_bpc == pytest.approx(expected.delta_bpc, abs=1e-6)
        band = pane.rows[RANDOM_ROW].band
        assert band.min <= expected.delta_bpc <= band.max
        assert f"[{c(band.min)}, {c(band.max)}]" in pane.render().plain


async def test_several_edits_post_their_combined_delta_and_ablation_follows_the_selected_neuron(session):
    pane = InterventionsPane(session)
    app = Recorder(pane)
    async with app.run_test(size=(100, 16)) as pilot:
        pane.selected_neuron = 3
        pane.toggle(ABLATE_ROW)
        pane.toggle(RANDOM_ROW)
        await settle(pilot, pane)
        await wait_for_workers(pilot)
        # edits compose in row order
        expected = intervention_delta(session, [RandomDirection(0), AblateNeurons((3,))])
        assert pane.combined.delta_bpc == pytest.approx(expected.delta_bpc, abs=1e-6)
        np.testing.assert_allclose(app.deltas[-1], expected.delta_bits, atol=1e-5)
        assert f"ΔBPC {c(expected.delta_bpc)} bits" in pane.render().plain
        assert "ablate h[3]" in pane.render().plain
        pane.selected_neuron = 5
        await settle(pilot, pane)
        single = intervention_delta(session, [AblateNeurons((5,))])
        assert pane.rows[ABLATE_ROW].result.delta_bpc == pytest.approx(single.delta_bpc, abs=1e-6)
        assert "ablate h[5]" in pane.render().plain
        with pytest.raises(ValueError):
            pane.selected_neuron = session.H


async def test_keys_move_the_highlight_and_toggle(session):
    pane = InterventionsPane(session)
    app = Recorder(pane)
    async with app.run_test(size=(100, 16)) as pilot:
        pane.focus()
        await pilot.press("down", "down", "down", "space")
        assert pane.highlighted == RANDOM_ROW and pane.rows[RANDOM_ROW].on
        assert "random dir (seed 0)" in pane.render().plain
        await pilot.press("enter")
        assert not pane.rows[RANDOM_ROW].on
        await wait_for_workers(pilot)


def test_every_row_builds_its_spec(session):
    fm = compute_factor_map(session)
    for row in ROWS:
        spec = row.build(session, fm, 2, lambda fraction: None, lambda: False)
        assert spec.describe()
        assert len(row.label(2, 8)) <= 8 and row.label(2) == row.name.format(neuron=2)
    assert ROWS[ABLATE_ROW].label(12, 8) == "h[12]=0"


def test_the_oracle_row_shows_its_fit_and_stops_inside_it(random_model, monkeypatch):
    import factormap.engine.interventions.oracle as oracle_module

    monkeypatch.setattr(oracle_module, "_CHUNK", 1024)  # several blocks of the fitting pass
    session = Session(random_model(16, seed=7, scale=1.5), PANE_TEXT * 40, chunk=256)
    assert session.n > 2 * oracle_module._CHUNK
    fm = compute_factor_map(session)
    reports = []
    stop_after_first_block = lambda: any(r.get("stage") == "fit" for r in reports)  # noqa: E731
    run_row(session, ROWS[ORACLE_ROW], fm, 0, (0, 0, 100), lambda **c: reports.append(c), stop_after_first_block)
    fits = [r for r in reports if r.get("stage") == "fit"]
    assert len(fits) == 1 and 0 < fits[0]["fraction"] < 1
    assert not any("spec" in r or "run" in r for r in reports)  # stopped before any run started
    session.close()


def test_progress_bar():
    assert progress_bar(0.5, 4) == "██░░  50%"
    assert progress_bar(1.0, 2) == "██ 100%"


async def test_subtract_each_step_reports_its_band_and_residual_readout(session):
    from factormap.engine.factor_map.features import word_len
    from factormap.engine.interventions.analysis import residual_readout
    from factormap.engine.interventions.specs import SubtractEachStep

    pane = InterventionsPane(session)
    app = Recorder(pane)
    async with app.run_test(size=(110, 16)) as pilot:
        pane.toggle(0)
        await settle(pilot, pane)
        u_wl = compute_factor_map(session).readouts["word_len"].cov_direction
        expected = residual_readout(session, [SubtractEachStep(u_wl)], word_len(session.x), "word_len")
        row = pane.rows[0]
        assert row.result.delta_bpc == pytest.approx(expected.result.delta_bpc, abs=1e-6)
        assert row.residual == pytest.approx(expected.r, abs=1e-9)
        assert row.band.min <= row.result.delta_bpc <= row.band.max and row.band.nudged.size == 4
        text = " ".join(pane.render().plain.split())  # the description wraps at spaces
        assert f" {compact(expected.r)}" in text and f"residual r(word_len) {compact(expected.r)}" in text
        assert "band of 4 nudged re-runs" in text  # the band says how many runs it spans


async def test_an_edit_that_cannot_be_made_says_why_in_its_row(random_model):
    session = Session(random_model(8, seed=1), b"ab")
    pane = InterventionsPane(session)
    app = Recorder(pane)
    async with app.run_test(size=(100, 16)) as pilot:
        pane.toggle(5)
        pane.set_cursor(1)
        await settle(pilot, pane)
        assert pane.rows[5].stage == "error" and "too few word lengths" in pane.rows[5].error
        assert "error: this text has too few word lengths" in pane.render().plain
        pane.toggle(4)
        await settle(pilot, pane)
        # the last byte predicts nothing: its Δbits does not exist, shown as a dash
        assert pane.rows[4].figures[3] != pane.rows[4].figures[3]
        assert " – " in pane.render().plain.split("\n")[5]
    session.close()


async def test_a_cursor_move_repaints_the_pane_only_when_a_figure_it_shows_changes(session):
    pane = InterventionsPane(session, id="interventions")
    app = PaneApp(pane)
    async with app.run_test(size=(100, 6)) as pilot:  # no room for the header: the border names the columns
        await wait_for_workers(pilot)
        assert pane.border_subtitle
        painted = []
        render = pane.render
        pane.render = lambda: painted.append(pane.cursor) or render()
        for t in range(1, 20):  # no edit on: every row reads the same at every position
            pane.set_cursor(t)
            await pilot.pause()
        await wait_for_workers(pilot)
        assert painted == []
        pane.toggle(READOUT_ROW)
        await settle(pilot, pane)
        painted.clear()
        pane.set_cursor(60)  # an edit on: its Δbits at the cursor is shown, so the move repaints
        await wait_for_workers(pilot)
        assert painted and painted[-1] == 60
