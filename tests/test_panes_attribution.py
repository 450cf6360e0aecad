"""Pilot tests of the attribution pane: it shows the engine's figures for the cursor's prediction."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.engine.attribution.prediction import attribution
from factormap.engine.session import Session
from factormap.tui.glyphs import byte_label
from factormap.tui.widgets.attribution_pane import MODES, AttributionPane
from factormap.tui.fields import compact
from factormap.tui.glyphs import CELL_GLYPHS
from factormap.tui.widgets.bars import column_bars, signed_column_bars
from tests.panes_support import PANE_TEXT, PaneApp, wait_for_workers


@pytest.fixture
def session(random_model):
    s = Session(random_model(16, seed=5), PANE_TEXT)
    yield s
    s.close()


class Recorder(PaneApp):
    """Keeps every Computed message the pane posts."""

    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.computed = []

    def on_attribution_pane_computed(self, message: AttributionPane.Computed) -> None:
        self.computed.append(message.attribution)


async def test_shows_the_engines_figures_for_the_cursor(session):
    pane = AttributionPane(session, K=64, id="attribution")
    app = Recorder(pane)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for_workers(pilot)
        assert [a.t for a in app.computed] == [0]
        pane.set_cursor(100)
        await wait_for_workers(pilot)
        expected = attribution(session, 100, 64)
        shown = pane.attribution
        assert shown.t == 100 and app.computed[-1] is shown
        np.testing.assert_array_equal(shown.grad_norms, expected.grad_norms)
        text = pane.render().plain
        assert f"t=100 predicts '{chr(session.x[101])}'" in text
        assert f"p={compact(expected.prob)}" in text and f"{compact(expected.bits)} bits" in text
        for b, p in zip(expected.top_bytes, expected.top_probs):
            assert f"{byte_label(b)} {p:.3f}" in text
        assert f"‖g_8‖/‖g_0‖ {compact(expected.growth[8])}" in text
        k_max = int(np.argmax(expected.grad_norms))
        assert f"max |·| {compact(expected.grad_norms[k_max])} at k={k_max}" in text
        top = expected.top_neurons(5)
        energy = expected.energy.sum(axis=0)
        assert f"h{top[0]} {energy[top[0]] / energy.sum():.1%}" in text
        assert f"top-10 share at k=0 {expected.top_share(10):.1%}" in text
        # the label row spells the text leading up to the cursor, oldest byte first
        glyphs = "".join(CELL_GLYPHS[b] for b in session.x[100 - 64:101])
        assert glyphs in text
        assert "64     56" in text and text.count("\n") == 24 - 1


async def test_mode_cycles_through_the_quantities(session):
    pane = AttributionPane(session, K=16)
    app = PaneApp(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        pane.set_cursor(40)
        await wait_for_workers(pilot)
        expected = attribution(session, 40, 16)
        seen = []
        for _ in MODES:
            seen.append(pane.mode)
            assert pane.has_class("-mode-" + pane.mode.replace("_", "-"))
            values = np.abs(expected.grads[:, pane.neuron] if pane.mode == "neuron"
                            else getattr(expected, "grad_norms" if pane.mode == "grad_norm" else pane.mode))
            k = int(np.argmax(values))
            assert f"max |·| {compact(abs(values[k]))} at k={k}" in pane.render().plain
            pane.cycle_mode()
            await pilot.pause()
        assert seen == list(MODES) and pane.mode == MODES[0]
        assert not pane.has_class("-mode-input-attr-exact")


async def test_last_byte_has_nothing_to_predict_and_bursts_settle_on_the_last(session):
    pane = AttributionPane(session, K=8)
    app = Recorder(pane)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_workers(pilot)
        for t in range(1, 40):
            pane.set_cursor(t)
        await wait_for_workers(pilot)
        assert pane.attribution.t == 39 and app.computed[-1].t == 39
        # stale results are never shown or posted
        assert [a.t for a in app.computed] == sorted({a.t for a in app.computed})
        pane.set_cursor(session.n - 1)
        await wait_for_workers(pilot)
        assert pane.attribution is None
        assert "no next byte" in pane.render().plain


def test_column_bars_heights():
    rows = column_bars(np.array([0.0, 0.5, 1.0, np.nan]), 2, 1.0)
    assert rows == ["  █ ", " ██ "]
    assert column_bars(np.array([0.01]), 2, 1.0) == [" ", "▁"]
    signed = signed_column_bars(np.array([1.0, -1.0, -0.25]), 4, 1.0)
    assert signed == ["█  ", "█  ", " █▀", " █ "]


def test_byte_glyphs_are_one_visible_character():
    assert [CELL_GLYPHS[b] for b in b"a \n\t\x00\xff"] == ["a", "␣", "↵", "⇥", "·", "·"]


def test_reach_advances_until_the_position_or_a_stop(random_model):
    from factormap.tui.widgets.reach import reach

    session = Session(random_model(8, seed=1), PANE_TEXT * 40, checkpoint_every=256, chunk=1024)
    fresh = Session(session.model, session.text)
    try:
        assert not reach(session, 5000, lambda: True) and session.done <= 1024
        assert reach(session, 5000, lambda: False) and 5000 < session.done < session.n
        np.testing.assert_array_equal(session.states(4990, 5001), fresh.states(4990, 5001))
    finally:
        session.close()
        fresh.close()


async def test_small_pane_keeps_the_prediction_bars_and_labels(session):
    pane = AttributionPane(session, K=64)
    app = PaneApp(pane)
    async with app.run_test(size=(40, 8)) as pilot:
        pane.set_cursor(100)
        await wait_for_workers(pilot)
        lines = pane.render().plain.split("\n")
        assert len(lines) == 8
        assert lines[0].startswith("t=100 predicts")
        shown = lines[1].split()  # 'top-N:' then N (byte, p) pairs: the label says how many fit
        assert shown[0] == f"top-{(len(shown) - 1) // 2}:" and len(shown) >= 3
        assert lines[-1].startswith("top neurons")
        assert lines[-2].endswith("".join(CELL_GLYPHS[b] for b in session.x[101 - 32:101]))
        await pilot.resize_terminal(40, 6)
        await pilot.pause()
        lines = pane.render().plain.split("\n")
        assert len(lines) == 6 and lines[0].startswith("t=100") and "‖g_k‖" in lines[1]


async def test_a_newline_target_is_shown_with_one_backslash(session):
    t = int(np.flatnonzero(session.x[1:] == 0x0A)[0])  # the prediction of the first newline
    pane = AttributionPane(session, K=64, id="attribution")
    async with PaneApp(pane).run_test(size=(100, 24)) as pilot:
        pane.set_cursor(t)
        await wait_for_workers(pilot)
        text = pane.render().plain
        assert f"t={t} predicts '↵'" in text and "\\n" not in text
