"""Pilot test: a resize redraws the oscilloscope at the new size at once, before any build has its states."""

from __future__ import annotations

import threading

import pytest
from textual import events
from textual.geometry import Size

from factormap.engine.session import Session
from factormap.tui.widgets.oscilloscope import Oscilloscope
from tests.panes_support import PANE_TEXT, PaneApp, wait_for_workers


@pytest.fixture
def session(random_model):
    s = Session(random_model(16, seed=3), PANE_TEXT)
    yield s
    s.close()


async def test_a_resize_redraws_the_held_window_at_the_new_size_while_the_states_are_late(session, monkeypatch):
    app = PaneApp(Oscilloscope(session, [0, 1, 2], id="oscilloscope"))
    async with app.run_test(size=(100, 20)) as pilot:
        osc = app.query_one(Oscilloscope)
        for _ in range(200):
            await wait_for_workers(pilot, rounds=1)
            if not osc.drawing:
                break
        held = osc.view
        assert held.size == (osc.size.width, osc.size.height)
        states, released = session.states, threading.Event()

        def late_states(t0, t1):  # the whole-text pass has not reached the window yet
            released.wait(30)
            return states(t0, t1)

        monkeypatch.setattr(session, "states", late_states)
        osc.set_cursor(1)                                  # a build for the old size is under way
        draws, draw = [], osc._draw
        monkeypatch.setattr(osc, "_draw", lambda plt, view, request: draws.append(view.size) or draw(plt, view, request))
        try:
            for size in [(90, 18), (70, 30), (60, 14)]:   # one burst: redrawn once, at the last size
                app._driver._size = Size(*size)
                app.post_message(events.Resize(Size(*size), Size(*size)))
            for _ in range(5):
                await pilot.pause()
            size = (osc.size.width, osc.size.height)
            assert size != held.size and osc.drawing   # the build for the new window still waits
            assert osc.view.size == size
            assert (osc.view.t0, osc.view.t1) == (held.t0, held.t1) and osc.view.traces is held.traces
            assert len(osc._frame) == size[1]
            assert all(strip.cell_length == size[0] for strip in osc._frame)
            assert "t=0" in osc.frame_text()
            assert draws == [size]
            shown, render_line = [], osc.render_line
            monkeypatch.setattr(osc, "render_line", lambda y: shown.append(osc.view.size) or render_line(y))
        finally:
            released.set()
        for _ in range(200):
            await wait_for_workers(pilot, rounds=1)
            if not osc.drawing:
                break
        assert shown and set(shown) == {size}   # the old size's build, too, is shown at the new size
        assert osc.view.size == (osc.size.width, osc.size.height)
        assert (osc.view.t, osc.view.t0, osc.view.t1) == (1, *osc.window(1, osc.size.width))
