"""The oscilloscope's frames: what one frame shows, and its plotext chart and lower-border legend.

A frame is built from an :class:`OscilloscopeView` (the window's traces) and a :class:`FrameRequest`
(everything else a build needs, copied from the widget on the main thread), so
:func:`draw_frame` reads no widget state and runs in the widget's thread worker, or on the event
loop for the redraw at a new size (:mod:`factormap.tui.widgets.oscilloscope` schedules both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from textual.markup import escape
from textual_plotext import Plot

from factormap.tui.fields import tick
from factormap.tui.glyphs import byte_label

TRACE_COLORS = ("cyan", "magenta", "green", "orange", "blue", "red", "yellow", "white")
"""plotext colours of the neuron traces, in the order of ``neurons``."""
READOUT_COLORS = ("gray", "white")
"""plotext colours of the feature-direction readout traces."""
TRACE_MARKERS = ("•", "x", "+", "o", "*", "#", "%", "@")
"""Each neuron trace's glyph twin: drawn instead of its colour alone under ``NO_COLOR``."""
READOUT_MARKERS = ("=", "~")
"""The readout traces' glyph twins."""
COMPACT_ROWS = 10
"""At this height or less the frame has no plot title or frame lines, so the traces get the rows.
At every height the legend (each trace's glyph and colour, name and axis) is on the pane's lower
border, not inside the plot (where plotext marks the axis of each entry with a cryptic L or ⅃)."""
Y_AXIS_COLUMNS = 7
"""Columns plotext spends on the left y axis and the frame."""


@dataclass(frozen=True)
class OscilloscopeView:
    """What one finished frame shows.

    Attributes:
        t: the cursor position the window was placed around.
        t0: first position in the window.
        t1: one past the last position in the window.
        neurons: the units drawn, in trace order.
        traces: (t1-t0, len(neurons)) activations h_t[j] for t in [t0, t1).
        readouts: name -> (t1-t0,) projections h_t·u of the feature-direction traces.
        size: (width, height) the frame was built for.
    """

    t: int
    t0: int
    t1: int
    neurons: tuple[int, ...]
    traces: np.ndarray
    readouts: dict[str, np.ndarray] = field(default_factory=dict)
    size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class FrameRequest:
    """Everything a build needs, copied on the main thread so the worker reads no widget state."""

    t: int
    t0: int
    t1: int
    neurons: tuple[int, ...]
    neurons_label: str
    readouts: tuple[tuple[str, np.ndarray], ...]
    size: tuple[int, int]
    plot_theme: str
    glyphs: bool = False


def readout_label(name: str) -> str:
    """A readout trace's name: ``h·u_word_len`` for the direction ``u_word_len``."""
    return name if name.startswith("h·") else f"h·{name}"


def legend_markup(view: OscilloscopeView, neurons_label: str, width: int) -> str:
    """The compact frame's legend for the pane's lower border, in at most ``width`` cells: each
    trace's glyph twin and name in its colour, the right-axis readouts marked as such, then the
    cursor and what the units are; whole entries drop out from the end where they do not fit."""
    entries = [(f"{TRACE_MARKERS[i % len(TRACE_MARKERS)]} h[{j}]", TRACE_COLORS[i % len(TRACE_COLORS)])
               for i, j in enumerate(view.neurons)]
    right = [f"{READOUT_MARKERS[i % len(READOUT_MARKERS)]} {readout_label(name)}" for i, name in enumerate(view.readouts)]
    if right:
        bound = readout_bound(view)
        entries.append((f"right axis ±{tick(bound)}: " + " ".join(right), ""))
    entries.append((f"t={view.t} {neurons_label}", "dim"))
    kept, used = [], 0
    for plain, color in entries:
        if used + len(plain) + 1 > width:
            break
        kept.append(f"[{color}]{escape(plain)}[/]" if color else escape(plain))
        used += len(plain) + 1
    return " ".join(kept)


def readout_bound(view: OscilloscopeView) -> float:
    """The right axis's range ±bound: the readouts' largest magnitude rounded up to a whole number,
    at least 1."""
    return max(1.0, float(np.ceil(max(np.abs(v).max() for v in view.readouts.values()))))


def y_ticks(height: int) -> list[float]:
    """Ticks for the fixed [-1, 1] axis that fit a plot ``height`` rows tall.

    plotext drops ticks that round to the same row, through a set, so a short plot given all five
    would label its rows in hash order (a "1.00" above a "-0.50").
    """
    rows = height - 5  # title, two frame lines, the byte labels and a margin
    if rows >= 9:
        return [-1, -0.5, 0, 0.5, 1]
    if rows >= 3:
        return [-1, 0, 1]
    return [-1, 1]


def draw_frame(plt: Plot, view: OscilloscopeView, request: FrameRequest, window_bytes: np.ndarray) -> str:
    """The plotext frame of ``view`` built on ``plt`` as ANSI text; ``window_bytes`` holds the byte
    of each position t0..t1-1 (the x labels). ``plt`` is used by one build at a time: the worker's,
    the child process's (:mod:`.frame_process`) or the resize redraw's."""
    plt.clear_data()
    xs = list(range(view.t0, view.t1))
    compact = view.size[1] <= COMPACT_ROWS
    for i, j in enumerate(view.neurons):
        plt.plot(xs, view.traces[:, i].tolist(), color=TRACE_COLORS[i % len(TRACE_COLORS)],
                 marker=TRACE_MARKERS[i % len(TRACE_MARKERS)] if request.glyphs else "hd")
    for i, (name, values) in enumerate(view.readouts.items()):
        plt.plot(xs, values.tolist(), yside="right", color=READOUT_COLORS[i % len(READOUT_COLORS)],
                 marker=READOUT_MARKERS[i % len(READOUT_MARKERS)] if request.glyphs else "hd")
    if view.readouts:
        bound = readout_bound(view)
        plt.ylim(-bound, bound, yside="right")
        # plotext cuts right-hand tick labels of a frameless plot: the compact legend says the range
        plt.yticks([] if compact else [-bound, 0, bound], None if compact else
                   [tick(-bound), "0", tick(bound)], yside="right")
    plt.ylim(-1, 1)
    ticks = y_ticks(view.size[1] + (3 if compact else 0))
    plt.yticks(ticks, [tick(t) for t in ticks])
    plt.xlim(view.t0 - 0.5, view.t1 - 0.5)
    plt.vline(view.t, "red")
    cols_per_byte = max(1, (view.size[0] - Y_AXIS_COLUMNS) // max(1, len(xs)))
    stride = max(1, -(-3 // cols_per_byte))
    ticks = sorted({*xs[(view.t - view.t0) % stride::stride], view.t})
    plt.xticks(ticks, [byte_label(int(window_bytes[k - view.t0])) for k in ticks])
    plt.title("" if compact else f"t={view.t}  {request.neurons_label}")
    plt.frame(not compact)
    plt.plotsize(*view.size)
    plt._set_size(*view.size)  # see PlotextPlot.render: plotsize alone does not resize
    plt.theme(request.plot_theme)
    return plt.build()
