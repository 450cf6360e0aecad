"""Pilot tests of the neuron oscilloscope: the window follows the cursor, traces are the session's states."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.session import Session
from factormap.tui.glyphs import byte_label
from factormap.tui.widgets.oscilloscope import Oscilloscope
from tests.panes_support import PANE_TEXT, PaneApp, wait_for_workers


def OscilloscopeApp(session: Session, neurons: list[int] | None = None) -> PaneApp:
    """Just the oscilloscope, filling the screen."""
    return PaneApp(Oscilloscope(session, neurons, id="oscilloscope"))


async def settle(pilot, widget: Oscilloscope) -> None:
    """Wait until no frame is being built or due."""
    for _ in range(200):
        await wait_for_workers(pilot, rounds=1)
        if not widget.drawing:
            return
    raise AssertionError("the oscilloscope never settled")


@pytest.fixture
def session(random_model):
    s = Session(random_model(16, seed=3), PANE_TEXT)
    yield s
    s.close()


def assert_view_matches(session: Session, osc: Oscilloscope, t: int) -> None:
    view = osc.view
    assert view.t == t
    assert view.t0 <= t < view.t1
    np.testing.assert_array_equal(view.traces, session.states(view.t0, view.t1)[:, list(view.neurons)])


async def test_window_follows_cursor(session):
    app = OscilloscopeApp(session)
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        await settle(pilot, osc)
        ranked = tuple(attribution_summary(session).neurons_by_energy[:4])
        assert osc.neurons == ranked and osc.view.neurons == ranked
        assert "top 4 by gradient energy over the text" in osc.frame_text()
        assert_view_matches(session, osc, 0)
        assert osc.view.t0 == 0
        first = (osc.view.t0, osc.view.t1)
        osc.set_cursor(200)
        await settle(pilot, osc)
        assert_view_matches(session, osc, 200)
        assert (osc.view.t0, osc.view.t1) != first
        assert osc.view.t1 - osc.view.t0 == first[1] - first[0]
        assert f"t=200" in osc.frame_text()
        assert byte_label(session.x[200]) in osc.frame_text()
        osc.set_cursor(session.n + 50)
        await settle(pilot, osc)
        assert_view_matches(session, osc, session.n - 1)
        assert osc.view.t1 == session.n


async def test_burst_of_cursor_moves_coalesces(session):
    app = OscilloscopeApp(session)
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        await settle(pilot, osc)
        before = osc.draw_count
        for t in range(1, 61):
            osc.set_cursor(t)
        await settle(pilot, osc)
        assert_view_matches(session, osc, 60)
        # one build was started by the first move; all later moves collapse into one more
        assert osc.draw_count - before <= 2


async def test_a_move_during_a_failed_build_is_still_drawn(session, monkeypatch):
    """A build that fails is reported, and the cursor it missed while it ran gets its frame."""
    from factormap.tui.widgets import frame_process

    failing, release = threading.Event(), threading.Event()

    def draw(view, request, window_bytes):
        if view.t == 10 and not failing.is_set():
            failing.set()
            release.wait(10)
            raise RuntimeError("plotext failed")
        return None  # drawn in the worker thread

    app = OscilloscopeApp(session, neurons=[0, 1])
    errors = []
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        await settle(pilot, osc)
        monkeypatch.setattr(frame_process, "draw", draw)
        monkeypatch.setattr(app, "notify", lambda message, **kw: errors.append(message))
        osc.set_cursor(10)
        while not failing.is_set():
            await pilot.pause(0.01)
        osc.set_cursor(20)
        release.set()
        await settle(pilot, osc)
        assert errors == ["oscilloscope: plotext failed"]
        assert_view_matches(session, osc, 20)


async def test_neurons_and_readouts(session, rng):
    app = OscilloscopeApp(session, neurons=[5])
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        await settle(pilot, osc)
        assert osc.view.neurons == (5,)
        osc.add_neuron(9)
        osc.add_neuron(5)
        await settle(pilot, osc)
        assert osc.view.neurons == (5, 9)
        osc.remove_neuron(5)
        await settle(pilot, osc)
        assert osc.view.neurons == (9,)
        assert_view_matches(session, osc, 0)
        u = rng.standard_normal(session.H)
        u /= np.linalg.norm(u)
        osc.set_readouts({"u_test": u})
        await settle(pilot, osc)
        states = session.states(osc.view.t0, osc.view.t1).astype(np.float64)
        np.testing.assert_allclose(osc.view.readouts["u_test"], states @ u)
        assert "h·u_test" in str(osc.border_subtitle)  # the legend is on the lower border
        with pytest.raises(ValueError):
            osc.set_readouts({"bad": np.ones(3)})
        with pytest.raises(ValueError):
            osc.add_neuron(session.H)


def test_byte_labels_are_visible():
    assert byte_label(ord("a")) == "a"
    assert byte_label(0x20) == "␣"
    assert byte_label(0x0A) == "↵"
    assert byte_label(0x9F) == "\\x9f"


def test_ansi_to_strips_matches_rich():
    from rich.console import Console
    from rich.text import Text
    from textual.strip import Strip

    from factormap.tui.widgets.ansi_strips import ansi_to_strips

    ansi = ("\x1b[48;5;15m  \x1b[38;5;12m▄▞\x1b[0m x\n"
            "\x1b[38;2;10;20;30mrgb\x1b[1m bold\x1b[0m\n"
            "plain")
    mine = ansi_to_strips(ansi, 12, 4)
    console = Console(width=12, color_system="truecolor")
    ref = [Strip(line, 12) for line in console.render_lines(Text.from_ansi(ansi), console.options.update(height=4),
                                                           pad=True)]
    assert len(mine) == 4
    for a, b in zip(mine, ref):
        assert [(ch, seg.style or None) for seg in a for ch in seg.text] == \
               [(ch, seg.style or None) for seg in b for ch in seg.text]
    assert ansi_to_strips("abcdefghijklmnop", 5, 1)[0].text == "abcde"


async def test_theme_change_redraws_with_the_new_colours(session):
    app = OscilloscopeApp(session, neurons=[1, 2])
    async with app.run_test(size=(90, 16)) as pilot:
        osc = app.query_one(Oscilloscope)
        await settle(pilot, osc)
        before, styles = osc.draw_count, {seg.style for strip in osc._frame for seg in strip}
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        await settle(pilot, osc)
        assert osc.draw_count > before
        assert {seg.style for strip in osc._frame for seg in strip} != styles


async def test_readout_names_are_not_prefixed_twice(session):
    app = OscilloscopeApp(session, neurons=[0])
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        osc.set_readouts({"h·u_word_len": np.eye(session.H)[0]})
        await settle(pilot, osc)
        legend = str(osc.border_subtitle)  # the legend is on the lower border
        assert "h·u_word_len" in legend and "h·h·" not in legend


async def test_units_added_and_removed_before_the_ranking_lands_are_kept(session):
    ranked = [int(j) for j in attribution_summary(session).neurons_by_energy[:4]]
    added = next(j for j in range(4, session.H) if j not in ranked)  # not one of the placeholders
    kernels_loaded = threading.Event()  # the ranking waits for it: the keys come first
    app = PaneApp(Oscilloscope(session, kernels_loaded=kernels_loaded, id="oscilloscope"))
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        osc.add_neuron(added)
        osc.remove_neuron(ranked[1])
        assert osc.neurons[-1] == added and ranked[1] not in osc.neurons  # on the placeholders h0-h3
        kernels_loaded.set()
        await settle(pilot, osc)
        assert osc.neurons == (ranked[0], *ranked[2:], added) == osc.view.neurons


async def test_a_long_text_is_ranked_on_its_prefix(session, monkeypatch):
    import factormap.tui.widgets.oscilloscope as oscilloscope_module

    monkeypatch.setattr(oscilloscope_module, "RANK_PREFIX", 100)
    app = OscilloscopeApp(session)
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        await settle(pilot, osc)
        prefix = Session(session.model, session.text[:100])
        expected = tuple(attribution_summary(prefix).neurons_by_energy[:4])
        prefix.close()
        assert osc.neurons == expected
        assert "over the first 100 bytes" in osc.frame_text()


@pytest.mark.parametrize("height", range(3, 40))
def test_y_ticks_fit_the_plot_rows_and_stay_ordered(height):
    from factormap.tui.widgets.oscilloscope_frame import y_ticks

    ticks = y_ticks(height)
    rows = max(height - 5, 1)
    assert ticks[0] == -1 and ticks[-1] == 1 and ticks == sorted(ticks)
    # rows between neighbouring ticks: plotext would merge two ticks that land on one row
    assert len(ticks) == 2 or (rows - 1) / (len(ticks) - 1) >= 1
