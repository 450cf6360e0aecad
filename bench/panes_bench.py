"""The data panes while ``l`` is held at 30 presses a second (issue 8): 200 presses through the app.

Drives the whole explorer (``FactormapApp`` at 160×48, reference model and text where present,
else the demo) with one ``l`` key event every 1/30 s and records, from the panes' own paint calls:

- attribution pane, key to frame: from a press to the first paint of the attribution for the
  cursor it moved to (median and 95th percentile; a press overtaken by the next one before its
  frame counts as skipped);
- oscilloscope: frames painted per second while the key is held, and the time from the text
  pane's frame of the final cursor to the oscilloscope's (the app may still be working through
  queued keys after the last press; that lag is the text pane's figure, printed for comparison).
  One burst gives one such settle, and where the last key lands in the chart's frame cycle
  decides it (a few ms to two frames), so it is measured after the long burst and after each of
  :data:`SETTLE_BURSTS` short ones that follow (``l`` held for half a second, then released):
  median and worst.

Targets: attribution within 20 ms (median); oscilloscope >= 15 frames/s and settled within 100 ms.
The figures include the app's own work on each key (text pane, status line) on this machine.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import common
from textual import events

from factormap.engine.model import load_model
from factormap.engine.session import Session
from factormap.tui.app import FactormapApp

PRESSES = 200
RATE = 30.0
SETTLE_BURSTS, BURST_PRESSES = 10, 15


def _record_paints(pane, shown, log: list[tuple[float, int]]) -> None:
    """Log ``(time, t)`` whenever ``pane`` paints a frame whose position ``shown()`` differs from the
    last: at its first line painted, whichever it is (the text pane repaints only the rows a move
    changes)."""
    paint = pane.render_line
    last = [None]

    def logged(y: int):
        t = shown()
        if t is not None and t != last[0]:
            last[0] = t
            log.append((time.perf_counter(), t))
        return paint(y)

    pane.render_line = logged


async def _drive(model_path: str, text_path: str) -> dict:
    session = Session(load_model(model_path), open(text_path, "rb").read())
    app = FactormapApp(session, model_path, text_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.sleep(1.0)
        await pilot.pause()
        screen = app.screen
        scope, attribution = screen.query_one("#oscilloscope"), screen.query_one("#attribution")
        text_pane = screen.query_one("#text")
        scope_log, attribution_log, text_log = [], [], []
        _record_paints(text_pane, lambda: text_pane.cursor, text_log)
        _record_paints(scope, lambda: scope.view.t if scope.view else None, scope_log)
        _record_paints(attribution, lambda: attribution.attribution.t if attribution.attribution else None,
                       attribution_log)
        presses = await _hold(app, screen.cursor, PRESSES)
        last_press = presses[-1][0]
        final = presses[-1][1]
        await _shown(final, scope_log, attribution_log)
        held = [p for p, _ in scope_log if presses[0][0] <= p <= last_press]
        settles = [_settle(final, text_log, scope_log)]
        for _ in range(SETTLE_BURSTS):
            await asyncio.sleep(0.3)
            burst = await _hold(app, screen.cursor, BURST_PRESSES)
            await _shown(burst[-1][1], scope_log, text_log)
            settles.append(_settle(burst[-1][1], text_log, scope_log))
            final = burst[-1][1]
        latencies, skipped = _latencies(presses, attribution_log)
        text_latencies, _ = _latencies(presses, text_log)
        return {"fps": len(held) / (last_press - presses[0][0]), "settles": settles, "latencies": latencies,
                "skipped": skipped, "cursor": screen.cursor, "final": final, "text": text_latencies}


async def _hold(app, start: int, count: int) -> list[tuple[float, int]]:
    """``l`` pressed ``count`` times at :data:`RATE` from cursor ``start``: ``(time, position)`` of each."""
    presses = []
    for i in range(count):
        presses.append((time.perf_counter(), start + i + 1))
        app.post_message(events.Key("l", "l"))
        await asyncio.sleep(1 / RATE)
    return presses


async def _shown(t: int, *logs: list[tuple[float, int]]) -> None:
    """Wait (2 s at most) until every pane of ``logs`` has painted position ``t``."""
    for _ in range(200):
        if all(log and log[-1][1] == t for log in logs):
            return
        await asyncio.sleep(0.01)


def _settle(t: int, text_log: list[tuple[float, int]], scope_log: list[tuple[float, int]]) -> float:
    """Seconds from the text pane's first frame of position ``t`` to the oscilloscope's (NaN if either
    never came)."""
    text_final = next((p for p, shown in text_log if shown == t), float("nan"))
    return next((p - text_final for p, shown in scope_log if shown == t), float("nan"))


def _latencies(presses: list[tuple[float, int]], log: list[tuple[float, int]]) -> tuple[list[float], int]:
    """Seconds from each press to the first paint of its position, and how many were never painted."""
    latencies, skipped = [], 0
    for pressed, t in presses:
        painted = next((p for p, shown in log if shown == t and p >= pressed), None)
        if painted is None:
            skipped += 1
        else:
            latencies.append(painted - pressed)
    return latencies, skipped


def main() -> None:
    print(f"# data panes with l held at {RATE:g}/s, {PRESSES} presses; {common.machine()}")
    figures = asyncio.run(_drive(*tuple(str(p) for p in common.input_paths())))
    lat = figures["latencies"]
    median = statistics.median(lat) * 1e3 if lat else float("nan")
    common.emit(common.Row("attribution pane key→frame, median", median, "ms", target="<= 20 ms",
                           met=median <= 20))
    if lat:
        common.emit(common.Row("attribution pane key→frame, p95", common.percentile(lat, 95) * 1e3, "ms"))
    common.emit(common.Row("attribution frames skipped (overtaken)", figures["skipped"], "presses"))
    if figures["text"]:
        common.emit(common.Row("text pane key→frame, median (for comparison)",
                               statistics.median(figures["text"]) * 1e3, "ms"))
    common.emit(common.Row("oscilloscope frames while held", figures["fps"], "frames/s", target=">= 15/s",
                           met=figures["fps"] >= 15))
    settles = [1e3 * s for s in figures["settles"] if s == s]  # NaN: a burst whose last position never showed
    if len(settles) < len(figures["settles"]):
        print(f"# {len(figures['settles']) - len(settles)} burst(s) never showed their last position")
    settle = statistics.median(settles) if settles else float("nan")
    common.emit(common.Row(f"oscilloscope settle after the last key's text frame, median of {len(settles)} bursts",
                           settle, "ms", target="<= 100 ms", met=settle <= 100))
    common.emit(common.Row("oscilloscope settle, worst burst", max(settles, default=float("nan")), "ms"))
    if figures["cursor"] != figures["final"]:
        print(f"# the cursor ended at {figures['cursor']}, not {figures['final']}: presses were lost")


if __name__ == "__main__":
    main()
