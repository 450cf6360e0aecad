"""A focusable plotext chart with a selected item: arrows pick a bar or point, enter jumps to its position.

A chart draws one :class:`ChartSpec` at a time (``j``/``k`` page through several, e.g. one per
feature). The spec holds the numbers as the engine computed them, so tests read them back from the
widget; drawing only arranges them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.binding import Binding
from textual.markup import escape
from textual.message import Message
from textual.reactive import reactive
from textual_plotext import PlotextPlot

from factormap.tui.fields import Field, fit, tick
from factormap.tui.widgets.pane_title import TITLE_MARGIN, FittedTitle

SERIES_COLORS = ("cyan", "magenta", "green", "orange", "blue", "red")
"""plotext colours of a spec's series, in order."""
SELECTION_COLOR = "yellow"
"""Colour of the line marking the selected item."""
PLOT_LEFT_COLUMNS = 8
"""Columns plotext spends on the y axis before the first item (for mapping a click to an item)."""


@dataclass(frozen=True, eq=False)
class ChartSpec:
    """What one chart page shows.

    Attributes:
        title: the exact quantity drawn.
        labels: one label per item (bar or point), in x order.
        series: (name, values) pairs, each with one value per item.
        style: "bar" (first series as bars, others as lines), "line" (every series as a line).
        positions: the representative text position of each item (-1: none).
        notes: one line per item describing it (shown when it is selected).
        caption: figures shown under the x axis.
        band: (least, greatest) per item, drawn as markers around the bars (or None).
        hlines: (name, y) reference lines.
        ylog: a logarithmic y axis.
        right: names of series drawn against the right y axis.
        ordered: the labels are points of an ordered axis (neurons; a line chart's labels always
            are): where they do not all fit, every few are shown. Other labels are categories, of
            which none may go missing: where they do not all fit, the items are numbered 1..n on
            the axis instead and the selected item's note starts with its number.
    """

    title: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, np.ndarray], ...]
    style: str = "bar"
    positions: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    caption: str = ""
    band: tuple[np.ndarray, np.ndarray] | None = None
    hlines: tuple[tuple[str, float], ...] = ()
    ylog: bool = False
    right: tuple[str, ...] = field(default_factory=tuple)
    ordered: bool = False

    def numbered(self, width: int) -> bool:
        """True when the items are numbered on a chart ``width`` cells wide (see ``ordered``)."""
        if self.ordered or self.style == "line" or not self.labels:
            return False
        spacing = (width - PLOT_LEFT_COLUMNS) / len(self.labels)
        return max(map(len, self.labels)) + 1 > spacing

    def values(self, name: str) -> np.ndarray:
        """The values of the series called ``name``."""
        return dict(self.series)[name]

    def position(self, i: int) -> int:
        """The representative position of item ``i`` (-1 when it has none)."""
        return -1 if self.positions is None or not 0 <= i < len(self.positions) else int(self.positions[i])


class Chart(FittedTitle, PlotextPlot, can_focus=True):
    """A chart of :class:`ChartSpec` pages with a selected item.

    Attributes:
        page: index of the spec shown.
        selected: index of the selected item of that spec.
    """

    BINDINGS = [
        Binding("h,left", "select(-1)", "◀ item", show=False, id="chart-prev",
                tooltip="Select the previous bar or point"),
        Binding("l,right", "select(+1)", "item ▶", show=False, id="chart-next",
                tooltip="Select the next bar or point"),
        Binding("k,up", "page(-1)", "◀ page", show=False, id="chart-page-prev",
                tooltip="Show the previous page (e.g. feature) of this chart"),
        Binding("j,down", "page(+1)", "page ▶", show=False, id="chart-page-next",
                tooltip="Show the next page (e.g. feature) of this chart"),
        Binding("enter", "jump", "jump", id="chart-jump",
                tooltip="Jump the main screen to the selected item's representative position"),
    ]

    page: reactive[int] = reactive(0, init=False)
    selected: reactive[int] = reactive(0, init=False)

    @dataclass
    class Jump(Message):
        """Enter on an item with a representative position.

        Attributes:
            chart: the chart's id.
            position: the text position to show.
        """

        chart: str
        position: int

    def __init__(self, placeholder: str, *, id: str | None = None) -> None:
        """Args:
            placeholder: the title shown until the numbers arrive.
            id: the DOM id.
        """
        super().__init__(id=id)
        self.placeholder = placeholder
        self.specs: list[ChartSpec] = []
        self.empty_note = "nothing to draw for this text"
        """What the chart says when its numbers arrive empty (or fail)."""

    @property
    def spec(self) -> ChartSpec | None:
        """The spec on show (None before the numbers arrive)."""
        return self.specs[self.page] if self.specs else None

    def set_specs(self, specs: list[ChartSpec], empty_note: str | None = None) -> None:
        """Show new numbers, keeping the page and selection where they still exist.

        Args:
            specs: the pages (an empty list, or pages without items, draw ``empty_note``).
            empty_note: why there is nothing to draw, when that is the case.
        """
        self.specs = list(specs) or [ChartSpec(title=self.placeholder, labels=(), series=())]
        if empty_note:
            self.empty_note = empty_note
        self.set_reactive(Chart.page, min(self.page, max(0, len(self.specs) - 1)))
        self.set_reactive(Chart.selected, min(self.selected, max(0, len(self.spec.labels) - 1)))
        self.replot()

    def on_mount(self) -> None:
        """Draw the placeholder, and redraw when the app's theme changes."""
        super().on_mount()
        self.watch(self.app, "theme", lambda _theme: self.replot(), init=False)
        self.replot()

    def watch_page(self) -> None:
        """Keep the selection inside the new page."""
        self.set_reactive(Chart.selected, min(self.selected, max(0, len(self.spec.labels) - 1)))
        self.replot()

    def watch_selected(self) -> None:
        """Move the selection mark."""
        self.replot()

    def action_select(self, delta: int) -> None:
        """Select the item ``delta`` steps away (clamped)."""
        if self.spec is not None:
            self.selected = max(0, min(len(self.spec.labels) - 1, self.selected + delta))

    def action_page(self, delta: int) -> None:
        """Show the next (previous) page, wrapping around."""
        if len(self.specs) > 1:
            self.page = (self.page + delta) % len(self.specs)

    def action_jump(self) -> None:
        """Ask the screen to jump to the selected item's representative position."""
        spec = self.spec
        if spec is None or not spec.labels:
            return
        position = spec.position(self.selected)
        if position < 0:
            self.notify("this chart has no text position behind its items", severity="warning", timeout=3)
            return
        self.post_message(self.Jump(self.id or "", position))

    def on_click(self, event: events.Click) -> None:
        """A click selects the item under the pointer (items spread evenly over the plot's width)."""
        spec = self.spec
        if spec is None or len(spec.labels) == 0:
            return
        span = max(1, self.size.width - PLOT_LEFT_COLUMNS - 1)
        fraction = (event.x - PLOT_LEFT_COLUMNS) / span
        self.selected = max(0, min(len(spec.labels) - 1, round(fraction * (len(spec.labels) - 1))))
        self.focus()

    def replot(self) -> None:
        """Show the current spec (or the placeholder) with the selected item marked.

        The figure itself is built at the next render, from the spec's numbers (see :meth:`render`).
        """
        spec = self.spec
        if spec is None or not spec.labels:
            self.border_subtitle = ""
        else:
            note = spec.notes[self.selected] if self.selected < len(spec.notes) else spec.labels[self.selected]
            if spec.numbered(self.size.width):
                note = f"{self.selected + 1}: {note}"
            first, *more = note.split(" · ")  # the note's phrases drop out whole, last first; the page stays
            fields = [Field(first), *(Field(phrase, 2 + i, separator=" · ") for i, phrase in enumerate(more))]
            if len(self.specs) > 1:
                fields.append(Field(f"j/k: {self.page + 1}/{len(self.specs)}", 1))
            width = self.outer_size.width - TITLE_MARGIN if self.outer_size.width else 10**6
            self.border_subtitle = escape(fit(fields, width).plain)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """Refit the border's note to the new width."""
        self.replot()

    def render(self) -> RenderResult:
        """Build the figure afresh for the widget's present size, then draw it.

        plotext replaces a log axis's stored values by their log10 while it builds, so a figure
        built twice (a resize, a focus change) would take the log of the log; and the x labels
        that fit depend on the width, unknown before the first layout.
        """
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        spec = self.spec
        if spec is None or not spec.labels:
            plt.title(f"{self.placeholder} ({'computing…' if spec is None else self.empty_note})")
        else:
            self._draw(spec)
        return super().render()

    def figure(self, width: int, height: int) -> Text:
        """Every page of the chart drawn at ``width`` × ``height`` cells, one below another, with its
        title line: what saving the dashboard writes, whether or not the chart is on screen."""
        out = Text()
        for spec in self.specs or [None]:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            if spec is None or not spec.labels:
                plt.title(f"{self.placeholder} ({'computing…' if spec is None else self.empty_note})")
            else:
                self._draw(spec, width)
            plt.plotsize(width, height)
            plt._set_size(width, height)  # see PlotextPlot.render: plotsize alone does not resize
            plt.theme(self._get_plotext_theme_name(self.app.theme))
            out.append_text(Text.from_ansi(plt.build()))
            out.append("\n")
        self.refresh()  # the shared figure now holds the saved page: draw the widget's own again
        return out

    def _draw(self, spec: ChartSpec, width: int | None = None) -> None:
        plt = self.plt
        x = list(range(1, len(spec.labels) + 1))
        plt.title(spec.title)
        if spec.ylog:
            plt.yscale("log")
        legend = len(spec.series) > 1
        for i, (name, values) in enumerate(spec.series):
            y = [float(v) if np.isfinite(v) else 0.0 for v in values]
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            side = "right" if name in spec.right else "left"
            label = name if legend else None
            if spec.style == "bar" and i == 0:
                plt.bar(x, y, color=color, label=label, yside=side, width=0.6)
            else:
                plt.plot(x, y, color=color, label=label, yside=side, marker="braille")
        if spec.band is not None:
            plt.scatter(x, [float(v) for v in spec.band[0]], marker="─", color="white", label="band")
            plt.scatter(x, [float(v) for v in spec.band[1]], marker="─", color="white")
        if spec.right:  # plotext's legend marks a right-axis series by its marker alone: name the axes
            plt.ylabel(", ".join(n for n, _ in spec.series if n not in spec.right), yside="left")
            plt.ylabel(", ".join(spec.right), yside="right")
        for name, y in spec.hlines:
            plt.hline(float(y), color="gray")
        if not spec.ylog:  # plotext's own labels print an ASCII '-'; a log axis has no negative ticks
            rows = height_of(self.size.height if width is None else None)
            for side in ("left", "right"):
                values = axis_values(spec, side)
                if values.size:
                    ticks = nice_ticks(float(values.min()), float(values.max()), rows)
                    plt.yticks(ticks, [tick(t) for t in ticks], yside=side)
        plt.vline(self.selected + 1, color=SELECTION_COLOR)
        plt.xlim(0.5, len(x) + 0.5)  # half an item of margin, so the first and last marks clear the axes
        width = width or self.size.width
        if spec.numbered(width):
            plt.xticks(x, [str(i) for i in x])
        else:
            plt.xticks(*_ticks(x, spec.labels, max(1, width // 8)))
        if spec.caption:
            plt.xlabel(spec.caption)


def height_of(rows: int | None) -> int:
    """Y ticks that fit a chart of ``rows`` rows (a saved page, of unknown rows: 5)."""
    return 5 if not rows else max(2, min(6, rows // 3))


def axis_values(spec: ChartSpec, side: str) -> np.ndarray:
    """The finite figures drawn against the ``side`` y axis (with 0, the foot of a bar)."""
    parts = [np.asarray(values, np.float64) for name, values in spec.series if (name in spec.right) == (side == "right")]
    if side == "left":
        if spec.band is not None:
            parts += [np.asarray(spec.band[0], np.float64), np.asarray(spec.band[1], np.float64)]
        parts += [np.array([y for _, y in spec.hlines], np.float64)]
        if spec.style == "bar" and spec.series and spec.series[0][0] not in spec.right:
            parts.append(np.zeros(1))
    values = np.concatenate(parts) if parts else np.zeros(0)
    return values[np.isfinite(values)] if parts and any(p.size for p in parts) else np.zeros(0)


def nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """At most about ``count`` ticks at round steps (1, 2 or 5 times a power of ten) within [lo, hi],
    for labels drawn by :func:`factormap.tui.fields.tick` (the − sign) rather than by plotext."""
    if not hi > lo:
        return [lo]
    power = 10.0 ** math.floor(math.log10((hi - lo) / max(1, count)))
    for step in (m * power for m in (1, 2, 5, 10, 20, 50)):  # the finest step that gives at most count ticks
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= count:
            break
    decimals = max(0, -math.floor(math.log10(step)))
    return [round(k * step, decimals) + 0.0 for k in range(first, last + 1)]  # + 0.0: no −0


def _ticks(x: list[int], labels: tuple[str, ...], room: int) -> tuple[list[int], list[str]]:
    """At most ``room`` evenly spaced x ticks with their labels."""
    step = max(1, -(-len(x) // room))
    keep = list(range(0, len(x), step))
    return [x[i] for i in keep], [labels[i] for i in keep]
