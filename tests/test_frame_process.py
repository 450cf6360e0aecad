"""The oscilloscope's frames drawn in the child process are the frames the widget would draw itself."""

from __future__ import annotations

import time

import numpy as np
from textual_plotext import Plot

from factormap.tui.widgets import frame_process
from factormap.tui.widgets.oscilloscope_frame import FrameRequest, OscilloscopeView, draw_frame


def test_the_child_draws_the_frame_the_thread_draws(rng):
    text = np.frombuffer(b"<page><title>An example</title></page>", np.uint8)
    t0, t1 = 4, 30
    view = OscilloscopeView(12, t0, t1, (0, 3), rng.uniform(-1, 1, (t1 - t0, 2)),
                            {"h·u_word_len": rng.normal(size=t1 - t0)}, (90, 20))
    request = FrameRequest(12, t0, t1, (0, 3), "units 0 and 3", (), (90, 20), "default")
    frame_process.start()
    deadline = time.monotonic() + 60
    drawn = frame_process.draw(view, request, text[t0:t1])
    while drawn is None and time.monotonic() < deadline:  # the child imports plotext first
        time.sleep(0.05)
        drawn = frame_process.draw(view, request, text[t0:t1])
    assert drawn == draw_frame(Plot(), view, request, text[t0:t1])
    assert len(drawn.splitlines()) == 20
