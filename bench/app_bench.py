"""Key to frame in the explorer (issues 6 and 8): ``l`` held down at 30 presses a second.

Driven through Textual's Pilot (headless, 160 x 48) on the reference model and text where
present, else the demo. After the start-up work has settled, 200 ``l`` key events are posted 1/30 s
apart (the event is posted straight to the app, without Pilot's wait-for-idle, as a terminal
would deliver it). For each press: key to the text pane's first frame with the new cursor, and
key to the attribution pane showing the new position's attribution; for the oscilloscope: frames
per second during the burst (how soon it settles after the last key is ``panes_bench.py``'s, over
several bursts and at the paint).

    python bench/app_bench.py [--presses 200] [--rate 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from common import Row, emit, header, input_paths, machine, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXT_TARGET_MS, SCOPE_FPS_TARGET = 20.0, 15.0


def make_app():
    from factormap.engine.model import load_model
    from factormap.engine.session import Session
    from factormap.engine.text import load_text
    from factormap.tui.app import FactormapApp

    model_path, text_path = input_paths()
    session = Session(load_model(model_path), load_text(text_path))
    return FactormapApp(session, model_path, text_path), f"{text_path.name}, H = {session.H}"


async def measure(presses: int, rate: float) -> tuple[list[float], list[float], float, str]:
    from textual import events

    from factormap.tui.widgets.attribution_pane import AttributionPane
    from factormap.tui.widgets.text_pane import TextPane
    from tests.pilot_support import settle

    app, what = make_app()
    drawn: dict[int, float] = {}
    attributed: dict[int, float] = {}
    render_line = TextPane.render_line

    def timed_render_line(self, y):
        drawn.setdefault(self.cursor, time.perf_counter())
        return render_line(self, y)

    TextPane.render_line = timed_render_line
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        pane = app.query_one(AttributionPane)
        scope = app.query_one("#oscilloscope")
        original = pane.post_message

        def record(message):
            if isinstance(message, AttributionPane.Computed):
                attributed.setdefault(message.attribution.t, time.perf_counter())
            return original(message)

        pane.post_message = record
        start_cursor, frames0 = app.screen.cursor, scope.draw_count
        sent: dict[int, float] = {}
        t_start = time.perf_counter()
        for i in range(1, presses + 1):
            sent[start_cursor + i] = time.perf_counter()
            app.post_message(events.Key("l", "l"))
            await asyncio.sleep(1 / rate)
        t_last = time.perf_counter()
        burst_frames = scope.draw_count - frames0
        last = start_cursor + presses
        while scope.view is None or scope.view.t != last:
            await asyncio.sleep(0.002)
        await settle(pilot)
    TextPane.render_line = render_line
    text_ms = [(drawn[t] - sent[t]) * 1e3 for t in sent if t in drawn]
    attr_ms = [(attributed[t] - sent[t]) * 1e3 for t in sent if t in attributed]
    app.session.close()
    return text_ms, attr_ms, burst_frames / (t_last - t_start), what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--rate", type=float, default=30.0, help="presses per second")
    args = parser.parse_args()
    print(machine())
    print(header())
    text_ms, attr_ms, fps, what = asyncio.run(measure(args.presses, args.rate))
    med = statistics.median(text_ms)
    emit(Row(f"l → text pane frame, median ({what})", med, "ms", target=f"<= {TEXT_TARGET_MS:g} ms",
             met=med <= TEXT_TARGET_MS))
    emit(Row("l → text pane frame, p95", percentile(text_ms, 95), "ms"))
    emit(Row(f"  presses drawn by the text pane", len(text_ms), f"of {args.presses}"))
    if attr_ms:
        med = statistics.median(attr_ms)
        emit(Row("l → attribution ready, median", med, "ms", target=f"<= {TEXT_TARGET_MS:g} ms",
                 met=med <= TEXT_TARGET_MS))
        emit(Row("l → attribution ready, p95", percentile(attr_ms, 95), "ms"))
        emit(Row("  positions attributed (stale ones skipped)", len(attr_ms), f"of {args.presses}"))
    emit(Row(f"oscilloscope frames during {args.rate:g}/s presses", fps, "1/s",
             target=f">= {SCOPE_FPS_TARGET:g}/s", met=fps >= SCOPE_FPS_TARGET))


if __name__ == "__main__":
    main()
