"""The neuron oscilloscope: selected hidden units as traces over a window that follows the cursor.

Drawing a plotext chart costs milliseconds of pure Python, and so does turning its ANSI output into
segments, so both happen off the event loop and the widget only hands out the lines of the last
finished frame (``render_line``): a thread worker reads the window's states and has the chart drawn
in a child process (:mod:`.frame_process`; in the worker itself until the child is ready), so that
the chart does not hold the GIL the event loop needs for the keys. At most one build runs at a time; cursor moves that arrive
meanwhile only mark the view stale, and the next build starts from the newest cursor once the
running one has finished (its result is applied on the main thread) and at least
:data:`MIN_FRAME_INTERVAL` after the previous start. A burst of key presses therefore costs at most
one build in flight plus one pending, never a queue.

A resize cannot wait for that: the frame on screen, cut or padded to the new size, would stay until
the next build had its states (seconds, while the whole-text pass runs). The widget redraws the
window it holds at the new size at once, on the event loop (one plotext build, milliseconds, with a
plot object of its own so it never meets the worker's), once for a burst of resizes; the build for
the window that fits the new width follows as usual.

This module schedules the builds and the redraws; what a frame shows and how its chart and legend
are drawn is :mod:`factormap.tui.widgets.oscilloscope_frame`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.events import Resize
from textual.reactive import var
from textual.strip import Strip
from textual.worker import Worker, WorkerState, get_current_worker
from textual_plotext import Plot, PlotextPlot

from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.session import Session
from factormap.tui.fields import Field
from factormap.tui.widgets import frame_process
from factormap.tui.widgets.ansi_strips import ansi_to_strips
from factormap.tui.widgets.oscilloscope_frame import (
    Y_AXIS_COLUMNS,
    FrameRequest,
    OscilloscopeView,
    draw_frame,
    legend_markup,
)
from factormap.tui.widgets.pane_title import FittedTitle
from factormap.tui.widgets.reach import wait_for

DEFAULT_NEURON_COUNT = 4
"""How many units the oscilloscope shows when none are chosen."""
MIN_FRAME_INTERVAL = 0.05
"""Seconds between the starts of two builds: 20 frames a second at most, so that while a key is
held the builds leave the event loop most of the GIL (and settle within 100 ms of the last key)."""
RANK_PREFIX = 1 << 16
"""The default units are ranked by gradient energy over at most this many leading bytes of the text."""


class Oscilloscope(FittedTitle, PlotextPlot):
    """Hidden-unit traces h_t[j] over a window around the cursor, y fixed to [-1, 1].

    Args:
        session: the engine session whose states are drawn.
        neurons: the units to draw; None shows the four with the most gradient energy, ranked in
            a worker (the first four units until the ranking is ready; units added or removed by
            hand meanwhile are kept once it lands, the ranked units filling in the rest).
        kernels_loaded: set once the attribution kernels are loaded, when another process is
            compiling them (a first run); the ranking waits for it rather than compile them too.
        id: the DOM id.
    """

    neurons: var[tuple[int, ...]] = var((), init=False)
    """The units drawn as traces, in order."""
    title_fields = (Field("oscilloscope"), Field("a/x add/drop the selected neuron", 1))
    """The border title: the pane's name, then its keys (dropped whole when too narrow)."""

    def __init__(self, session: Session, neurons: list[int] | None = None, *,
                 kernels_loaded: threading.Event | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.session = session
        self._kernels_loaded = kernels_loaded
        self.cursor = 0
        self.view: OscilloscopeView | None = None
        """The data of the frame on screen (None before the first frame)."""
        self.draw_count = 0
        """Frames built so far (bursts of cursor moves coalesce, so this grows slower than moves)."""
        self._neurons_label = "selected units"
        self._readouts: dict[str, np.ndarray] = {}
        self._frame: list[Strip] = []
        self._resize_plot = Plot()
        """The plotext figure of the redraw on resize (the event loop's; the worker has ``plt``)."""
        self._resize_due = False
        self._building = False
        self._stale = False
        self._waiting = False
        self._last_start = -math.inf
        self._ranking = neurons is None and session.n > 2
        self._added: list[int] = []
        """Units added by hand while the ranking runs (shown after the ranked ones once it lands)."""
        self._removed: set[int] = set()
        """Units removed by hand while the ranking runs (left out of the ranked ones)."""
        if neurons is None:
            count = min(DEFAULT_NEURON_COUNT, session.H)
            self._neurons_label = f"units 0–{count - 1}" + (" until the gradient-energy ranking is ready"
                                                          if self._ranking else "")
            neurons = list(range(count))
        self.set_reactive(Oscilloscope.neurons, self._checked(neurons))

    def on_mount(self) -> None:
        """Register the plot theme, redraw whenever the app theme changes, and rank the units."""
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.replot())
        self.replot()
        if self._ranking:
            self._rank_neurons()

    @work(thread=True, exclusive=True, group="oscilloscope-rank", exit_on_error=False)
    def _rank_neurons(self) -> tuple[list[int], str]:
        """The units with the most gradient energy, summed over every prediction and offset of the
        text (of its first :data:`RANK_PREFIX` bytes when it is longer: the ranking settles fast)."""
        worker = get_current_worker()
        if not wait_for(self._kernels_loaded, lambda: worker.is_cancelled):
            return [], ""
        session = self.session
        if session.n > RANK_PREFIX:
            session = Session(session.model, session.text[:RANK_PREFIX])
        try:
            summary = attribution_summary(session, should_stop=lambda: worker.is_cancelled)
        finally:
            if session is not self.session:
                session.close()
        count = min(DEFAULT_NEURON_COUNT, self.session.H)
        where = "the text" if session is self.session else f"the first {RANK_PREFIX:,} bytes"
        return [int(j) for j in summary.neurons_by_energy[:count]], f"top {count} by gradient energy over {where}"

    # -- public API -------------------------------------------------------------------------
    def set_cursor(self, t: int) -> None:
        """Move the window to follow position ``t`` (cheap: the redraw is coalesced)."""
        t = min(max(0, int(t)), self.session.n - 1)
        if t != self.cursor:
            frame_process.start()  # the keys have begun: frames are drawn off the GIL from now on
            self.cursor = t
            self.replot()

    def add_neuron(self, j: int) -> None:
        """Add unit ``j`` to the traces (no-op when already shown)."""
        if j not in self.neurons:
            self._neurons_label = "selected units"
            self.neurons = self._checked((*self.neurons, j))
        if self._ranking:
            self._removed.discard(j)
            if j not in self._added:
                self._added.append(j)

    def remove_neuron(self, j: int) -> None:
        """Remove unit ``j`` from the traces (no-op when absent)."""
        if self._ranking:
            self._removed.add(j)
            self._added = [k for k in self._added if k != j]
        if j in self.neurons:
            self._neurons_label = "selected units"
            self.neurons = tuple(k for k in self.neurons if k != j)

    def set_default_neurons(self, neurons: list[int], label: str) -> None:
        """Show ``neurons`` as the default set, described by ``label`` (e.g. the ranking used)."""
        self._stop_ranking()
        self._neurons_label = label
        self.neurons = self._checked(neurons)

    def _apply_ranking(self, ranked: list[int], label: str) -> None:
        """Show the ranked units, less those removed by hand meanwhile, then those added by hand."""
        if self._added or self._removed:
            ranked = [j for j in ranked if j not in self._removed]
            ranked += [j for j in self._added if j not in ranked]
            label = "selected units"
        self.set_default_neurons(ranked, label)

    def _stop_ranking(self) -> None:
        """A set of units from outside (a replayed record) wins over the ranking still running."""
        if self._ranking:
            self._ranking = False
            self.workers.cancel_group(self, "oscilloscope-rank")

    def set_readouts(self, directions: dict[str, np.ndarray]) -> None:
        """Draw h·u for each named unit direction u as extra traces on the right axis ({} removes them).

        The legend calls a trace ``h·{name}`` (or ``name`` itself when it already starts with ``h·``).
        """
        H = self.session.H
        for name, u in directions.items():
            if np.shape(u) != (H,):
                raise ValueError(f"direction {name!r} has shape {np.shape(u)}, expected ({H},)")
        self._readouts = {name: np.asarray(u, np.float64) for name, u in directions.items()}
        self.replot()

    @property
    def drawing(self) -> bool:
        """True while a frame is being built or a newer one is still due."""
        return self._building or self._stale or self._waiting

    def window(self, t: int, width: int) -> tuple[int, int]:
        """The window [t0, t1) shown for cursor ``t`` in a widget ``width`` columns wide.

        About three columns per byte so each byte keeps its label; the cursor sits in the middle
        except near the ends of the text.
        """
        span = min(self.session.n, max(8, min(96, (width - Y_AXIS_COLUMNS) // 3)))
        t0 = min(max(0, t - span // 2), self.session.n - span)
        return t0, t0 + span

    # -- drawing ------------------------------------------------------------------------------
    def watch_neurons(self) -> None:
        """Redraw with the new set of traces."""
        self.replot()

    def on_resize(self, _event: Resize) -> None:
        """Redraw the held window at the new size once the resizes queued now are taken (see the
        module docstring), and ask for a frame of the window that fits it."""
        if not self._resize_due:
            self._resize_due = True
            self.call_later(self._redraw_held)
        self.replot()

    def _redraw_held(self) -> None:
        """The frame on screen drawn again from its own arrays at the widget's current size."""
        self._resize_due = False
        size = (self.size.width, self.size.height)
        if self.view is None or self.view.size == size or min(size) <= 0:
            return
        view = replace(self.view, size=size)
        request = self._request(view.t, view.t0, view.t1, view.neurons, size)
        self._frame = ansi_to_strips(self._draw(self._resize_plot, view, request), *size)
        self.view = view
        self.border_subtitle = legend_markup(view, self._neurons_label, size[0] - 4)
        self.refresh()

    def _request(self, t: int, t0: int, t1: int, neurons: tuple[int, ...], size: tuple[int, int]) -> FrameRequest:
        """What a build of the window [t0, t1) around ``t`` at ``size`` needs, from the widget now."""
        return FrameRequest(t, t0, t1, neurons, self._neurons_label, tuple(self._readouts.items()), size,
                        self._get_plotext_theme_name(self.app.theme), glyphs=bool(self.app.no_color))

    def replot(self) -> None:
        """Ask for a frame of the current state: starts a build, or marks the view stale while a
        build runs or the frame interval since the last one has not passed."""
        if not self.is_mounted or self.size.width <= 0 or self.size.height <= 0:
            return
        if self._building or self._waiting:
            self._stale = True
            return
        wait = self._last_start + MIN_FRAME_INTERVAL - time.monotonic()
        if wait > 0:
            self._stale = self._waiting = True
            self.set_timer(wait, self._interval_passed)
            return
        self._building = True
        self._stale = False
        self._last_start = time.monotonic()
        t0, t1 = self.window(self.cursor, self.size.width)
        self._build(self._request(self.cursor, t0, t1, self.neurons, (self.size.width, self.size.height)))

    def _interval_passed(self) -> None:
        self._waiting = False
        if self._stale:
            self.replot()

    @work(thread=True, exclusive=True, group="oscilloscope-draw", exit_on_error=False)
    def _build(self, request: FrameRequest) -> tuple[OscilloscopeView, list[Strip]]:
        states = self.session.states(request.t0, request.t1).astype(np.float64)
        view = OscilloscopeView(request.t, request.t0, request.t1, request.neurons,
                                states[:, list(request.neurons)],
                                {name: states @ u for name, u in request.readouts}, request.size)
        width, height = request.size
        ansi = frame_process.draw(view, request, self.session.x[view.t0:view.t1])
        if ansi is None:  # the child is not ready (or failed): draw here, holding the GIL meanwhile
            ansi = self._draw(self.plt, view, request)
        return view, ansi_to_strips(ansi, width, height)

    def _draw(self, plt: Plot, view: OscilloscopeView, request: FrameRequest) -> str:
        """The frame of ``view`` built on ``plt`` (the worker's, or the resize redraw's)."""
        return draw_frame(plt, view, request, self.session.x[view.t0:view.t1])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show a finished frame (and start the next build if the cursor moved meanwhile), apply
        the ranking of units; report a failure as a notification."""
        group = event.worker.group
        if group not in ("oscilloscope-draw", "oscilloscope-rank"):
            return
        event.stop()
        if event.state == WorkerState.ERROR:
            self.notify(f"oscilloscope: {event.worker.error}", severity="error")
            if group == "oscilloscope-draw":
                self._building = False
                if self._stale:  # the cursor moved during the failed build: its frame is still due
                    self.replot()
        elif event.state == WorkerState.SUCCESS and group == "oscilloscope-rank":
            if self._ranking:
                self._apply_ranking(*event.worker.result)
        elif event.state == WorkerState.SUCCESS:
            self._building = False
            self.view, self._frame = event.worker.result
            self.border_subtitle = legend_markup(self.view, self._neurons_label, self.size.width - 4)
            self.draw_count += 1
            resized = self.view.size != (self.size.width, self.size.height)
            if resized:  # built for the size before a resize: its window, drawn at this size
                self._redraw_held()
            self.refresh()
            if self._stale or resized:
                self.replot()

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the last finished frame, already turned into segments by the worker.

        (``PlotextPlot.render`` would build the chart here, on the event loop, on every refresh.)
        """
        width = self.size.width
        if y < len(self._frame):
            return self._frame[y].crop_extend(0, width, None)
        if y == 0 and not self._frame:
            return Strip([Segment("drawing…".ljust(width)[:width], Style(dim=True))], width)
        return Strip.blank(width)

    def frame_text(self) -> str:
        """The frame on screen as plain text (for tests and exports)."""
        return "\n".join(strip.text for strip in self._frame)

    def _checked(self, neurons: list[int] | tuple[int, ...]) -> tuple[int, ...]:
        H = self.session.H
        bad = [j for j in neurons if not 0 <= j < H]
        if bad:
            raise ValueError(f"units {bad} are outside 0..{H - 1}")
        return tuple(int(j) for j in dict.fromkeys(neurons))
