"""The attribution pane: how the prediction at the cursor depends on the bytes and neurons before it.

One bar per offset k = 0..K back from the cursor (k = 0 at the right, so the labels under the bars
read as the text leading up to the prediction), then the neurons holding the most gradient energy,
and the prediction itself. In the ``neuron`` mode the bars are the selected unit's ``g_k[j]`` and a
heat map of the top units by gradient energy against the offsets replaces the neuron line
(:mod:`.attribution_flow`). The attributed quantity is ``ln p`` of the next byte, of a chosen byte,
or a contrast ``ln p(a) − ln p(b)`` (:meth:`AttributionPane.set_target`), named in the title. The engine computes one :class:`Attribution` per cursor position in a
thread worker (well under a millisecond); the pane only draws the cached arrays as text.
"""

from __future__ import annotations

import textwrap
import threading
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import work
from textual.app import RenderResult
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.worker import Worker, WorkerState, get_current_worker

from factormap.engine.attribution.prediction import DEFAULT_K, Attribution, attribution
from factormap.engine.session import Session
from factormap.tui.fields import Field, compact, fit
from factormap.tui.glyphs import CELL_GLYPHS, byte_label
from factormap.tui.widgets.attribution_flow import flow_summary, heat_map_lines
from factormap.tui.widgets.bars import column_bars, signed_column_bars
from factormap.tui.widgets.reach import reach, wait_for

MODES = ("grad_norm", "input_attr", "input_attr_exact", "neuron")
"""What the bars show, in the order ``cycle_mode`` visits them."""
MODE_TITLES = {
    "grad_norm": "‖g_k‖ = ‖∂ ln p/∂h(t−k)‖",
    "input_attr": "a_k = g_k·Wx[:, x(t−k)]",
    "input_attr_exact": "exact a_k = ((1−h²)⊙g_k)·Wx[:, x(t−k)]",
    "neuron": "g_k[j] = ∂ ln p/∂h_j(t−k)",
}
"""Each mode's quantity, as the pane's chart title says it."""
AXIS_WIDTH = 8
"""Columns left of the bars for the scale labels."""
MIN_BARS = 3
"""Bar rows kept before any optional line (top-5, neurons, offsets) is given room."""
TOP_NEURONS = 5
"""Neurons listed under the bars."""


class AttributionPane(Widget, can_focus=True):
    """Gradient attribution of the cursor's prediction, drawn as text bars.

    Args:
        session: the engine session.
        K: the deepest offset followed back.
        id: the DOM id.
    """

    DEFAULT_CSS = """
    AttributionPane { width: 1fr; height: 1fr; text-wrap: nowrap; text-overflow: clip; }
    AttributionPane > .attribution-pane--bar { color: $accent; }
    AttributionPane > .attribution-pane--negative { color: $error; }
    AttributionPane > .attribution-pane--cursor { color: $warning; text-style: bold; }
    AttributionPane > .attribution-pane--muted { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"attribution-pane--bar", "attribution-pane--negative",
                         "attribution-pane--cursor", "attribution-pane--muted"}

    mode: var[str] = var("grad_norm", init=False)
    """One of :data:`MODES`: what the bars show."""

    @dataclass
    class Computed(Message):
        """The attribution of the prediction at the cursor is ready (posted once per cursor position)."""

        attribution: Attribution

    def __init__(self, session: Session, K: int = DEFAULT_K, *, kernels_loaded: threading.Event | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """Args:
            session: the model and text.
            K: the deepest offset.
            kernels_loaded: set once the attribution kernels are loaded, when another process is
                compiling them (a first run); the workers wait for it rather than compile them too.
            id: the widget's id.
            classes: the widget's classes.
        """
        super().__init__(id=id, classes=classes)
        self.session = session
        self.K = int(K)
        self._kernels_loaded = kernels_loaded
        self.cursor = 0
        self.attribution: Attribution | None = None
        """The attribution on screen (None before the first one, or at the last byte)."""
        self.neuron = 0
        """The unit j the ``neuron`` mode follows (the explorer's selected neuron)."""
        self.target: int | None = None
        """The byte attributed (None: the next byte ``x_{t+1}``)."""
        self.contrast: int | None = None
        """The byte b of a contrast ``ln p(target) − ln p(b)``, or None."""
        self.set_class(True, "-mode-grad-norm")

    def on_mount(self) -> None:
        """Start with the prediction at position 0."""
        self._request(self.cursor)

    def set_cursor(self, t: int) -> None:
        """Show the attribution of the prediction made at position ``t`` (computed in a worker)."""
        t = min(max(0, int(t)), self.session.n - 1)
        if t != self.cursor:
            self.cursor = t
            if self.is_mounted:  # otherwise on_mount asks for the cursor's attribution
                self._request(t)

    def set_neuron(self, j: int) -> None:
        """Follow unit ``j`` in the ``neuron`` mode."""
        self.neuron = int(j)
        self.refresh()

    def set_target(self, target: int | None = None, contrast: int | None = None) -> None:
        """Attribute ``ln p(target)`` (None: the next byte), or ``ln p(target) − ln p(contrast)``.

        Raises:
            ValueError: a byte outside 0..255, a contrast without a target, or equal to it.
        """
        for byte in (target, contrast):
            if byte is not None and not 0 <= int(byte) < 256:
                raise ValueError(f"a target must be a byte value 0..255, got {byte}")
        if contrast is not None and (target is None or int(contrast) == int(target)):
            raise ValueError("a contrast needs a target byte a and another byte b: ln p(a) − ln p(b)")
        self.target = None if target is None else int(target)
        self.contrast = None if contrast is None else int(contrast)
        self.attribution = None
        self._request(self.cursor)

    def target_description(self) -> str:
        """The attributed quantity as the title says it ("" for the next byte's ln p)."""
        if self.target is None:
            return ""
        a = f"ln p('{byte_label(self.target)}')"
        return a if self.contrast is None else f"{a} − ln p('{byte_label(self.contrast)}')"

    def offset_values(self, att: Attribution) -> np.ndarray:
        """What the bars show for ``att`` in the current mode, one value per offset k = 0..K."""
        if self.mode == "neuron":
            return att.grads[:, min(self.neuron, att.grads.shape[1] - 1)]
        return att.grad_norms if self.mode == "grad_norm" else getattr(att, self.mode)

    def cycle_mode(self) -> None:
        """Switch the bars to the next quantity in :data:`MODES`."""
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]

    def watch_mode(self, old: str, new: str) -> None:
        """Map the mode to a CSS class and redraw."""
        self.set_class(False, f"-mode-{old.replace('_', '-')}")
        self.set_class(True, f"-mode-{new.replace('_', '-')}")
        self.refresh()

    def _request(self, t: int) -> None:
        if t >= self.session.n - 1 and self.target is None:
            self.attribution = None
            self.refresh()
            return
        self._compute(t)

    @work(thread=True, exclusive=True, group="attribution", exit_on_error=False)
    def _compute(self, t: int) -> Attribution | None:
        worker = get_current_worker()
        if not reach(self.session, t, lambda: worker.is_cancelled):
            return None
        if not wait_for(self._kernels_loaded, lambda: worker.is_cancelled):
            return None
        return attribution(self.session, t, self.K, self.target, contrast=self.contrast)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show an attribution that is still current; report a failure as a notification."""
        if event.worker.group != "attribution":
            return
        event.stop()
        if event.state == WorkerState.ERROR:
            self.notify(f"attribution: {event.worker.error}", severity="error")
        elif (event.state == WorkerState.SUCCESS and event.worker.result is not None
              and event.worker.result.t == self.cursor):
            self.attribution = event.worker.result
            # after the frame under way: the key's own frame (text pane, status line) goes out first
            self.call_after_refresh(self.refresh)
            self.post_message(self.Computed(self.attribution))

    # -- drawing ------------------------------------------------------------------------------
    def render(self) -> RenderResult:
        """The prediction, the bars over offsets, and the top neurons, from the cached attribution."""
        att = self.attribution
        if att is None:
            if self.cursor >= self.session.n - 1:
                note = f"t={self.cursor} is the last byte: there is no next byte to attribute."
                return Text("\n".join(textwrap.wrap(note, max(1, self.size.width))))   # words whole, not cut
            return Text(f"attributing the prediction at t={self.cursor}…", style="dim")
        columns = max(1, min(att.K + 1, self.size.width - AXIS_WIDTH))
        values = self.offset_values(att)[:columns][::-1]
        if self.mode == "neuron":
            return self._neuron_mode(att, values, columns)
        # prediction, title and byte labels always show; top-5, neurons and offsets (in that order)
        # only while at least MIN_BARS rows of bars remain
        optional = max(0, min(3, self.size.height - 3 - MIN_BARS))
        bars = max(2, self.size.height - 3 - optional)
        lines = [self._prediction_line(att)]
        if optional >= 1:
            lines.append(self._top5_line(att))
        lines.append(self._title_line(att, values[::-1]))
        lines.extend(self._bar_lines(att, values, bars))
        lines.append(self._labels_line(att, columns))
        if optional >= 3:
            lines.append(self._offsets_line(columns))
        if optional >= 2:
            lines.append(self._neurons_line(att))
        return Text("\n").join(lines)

    def _neuron_mode(self, att: Attribution, values: np.ndarray, columns: int) -> Text:
        """Prediction, the unit's g_k[j] bars and byte labels, then the heat map of the top units."""
        muted = self._style("muted")
        room = max(0, self.size.height - 3)
        map_rows = min(room // 2, 8)
        bars = max(2, room - map_rows - 1)
        j = min(self.neuron, att.grads.shape[1] - 1)
        lines = [self._prediction_line(att), self._title_line(att, values[::-1])]
        lines.extend(self._bar_lines(att, values, bars))
        lines.append(self._labels_line(att, columns))
        if map_rows:
            lines.append(fit([*flow_summary(att, j), Field("│ |g_k| of the top units:", 1, separator=" ")],
                             self.size.width))
            lines[-1].stylize(muted)
            lines.extend(heat_map_lines(att, j, columns, map_rows, AXIS_WIDTH, muted, self._style("cursor")))
        return Text("\n").join(lines)

    def _style(self, name: str):
        return self.get_component_rich_style(f"attribution-pane--{name}")

    def _prediction_line(self, att: Attribution) -> Text:
        """The target byte, its probability p and its bits (−log2 p); for a contrast, the value
        ln p(a) − ln p(b) and both probabilities. Figures drop out whole where the pane is narrow."""
        cursor = self._style("cursor")
        a = byte_label(att.target)
        if att.contrast is not None:
            b = byte_label(att.contrast)
            return fit([Field(f"t={att.t}:", 1, style=cursor),
                        Field(self.target_description(), 0, style=cursor, short=f"ln p({a})−ln p({b})",
                              separator=" "),
                        Field(f"= {compact(att.value, signed=True)} nats", 0, separator=" "),
                        Field(f"p({a})={compact(att.prob)}", 2),
                        Field(f"p({b})={compact(att.contrast_prob)}", 3)],
                       self.size.width)
        # a chosen target (:target) is what is attributed, not what the model predicts
        what = f"t={att.t} predicts" if self.target is None else f"t={att.t}, chosen target"
        return fit([Field(what, 0), Field(f"'{a}'", 0, style=cursor, separator=" "),
                    Field(f"p={compact(att.prob)}", 1),
                    Field(f"{compact(att.bits)} bits", 2)], self.size.width)  # bits = −log2 p: p first

    def _top5_line(self, att: Attribution) -> Text:
        """The most probable next bytes with their probabilities in the compact form (as the head's p),
        as many of the five as fit, the label saying how many (``top-5:``, or ``top-4:`` when one is left out)."""
        entries = list(zip(att.top_bytes, att.top_probs))
        for n in range(len(entries), 0, -1):
            line = Text(f"top-{n}:", self._style("muted"))
            for b, p in entries[:n]:
                line.append("  ")
                line.append(f"{byte_label(b)} {compact(p)}", self._style("cursor") if b == att.target else "")
            if line.cell_len <= self.size.width:
                return line
        return line

    def _title_line(self, att: Attribution, shown: np.ndarray) -> Text:
        """The quantity (in nats), its largest magnitude on screen and (for ‖g_k‖) the growth at k = 8."""
        k_max = int(np.nanargmax(np.abs(shown)))
        muted = self._style("muted")
        title = MODE_TITLES[self.mode].replace("g_k[j]", f"g_k[{self.neuron}]").replace("h_j", f"h_{self.neuron}")
        short = bare = title.split(" = ")[0]
        if self.target is not None:
            title, short = (f"{name} of {self.target_description()}" for name in (title, short))
        fields = [Field(title, 0, short=short, style="bold"),
                  Field("nats", 0, style=muted),
                  Field(f"max |·| {compact(abs(shown[k_max]))} at k={k_max}", 2,
                        short=f"max {compact(abs(shown[k_max]))}", style=muted)]
        if self.mode == "grad_norm" and att.K >= 8:
            fields.append(Field(f"‖g_8‖/‖g_0‖ {compact(att.growth[8])}", 3, style=muted))
        line = fit(fields, self.size.width)
        if line.cell_len > self.size.width and self.target is not None:  # the line above names the target
            line = fit([Field(bare, 0, style="bold"), *fields[1:]], self.size.width)
        return line

    def _bar_lines(self, att: Attribution, values: np.ndarray, rows: int) -> list[Text]:
        scale = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        signed = self.mode != "grad_norm"
        chart = signed_column_bars(values, rows, scale) if signed else column_bars(values, rows, scale)
        axis = {0: compact(scale), rows - 1: compact(-scale) if signed else "0"}
        if signed:
            axis[rows // 2 - 1] = "0"
        lines = []
        for r, bar in enumerate(chart):
            style = self._style("negative") if signed and r >= rows // 2 else self._style("bar")
            line = Text(axis.get(r, "").rjust(AXIS_WIDTH - 1) + " ", self._style("muted"))
            line.append(bar[:-1], style)
            line.append(bar[-1], self._style("cursor"))
            lines.append(line)
        return lines

    def _labels_line(self, att: Attribution, columns: int) -> Text:
        """The byte read at each offset, oldest at the left: the text leading up to the cursor."""
        glyphs = "".join(CELL_GLYPHS[int(b)] for b in att.inputs[:columns][::-1])
        line = Text("bytes".rjust(AXIS_WIDTH - 1) + " ", self._style("muted"))
        line.append(glyphs[:-1])
        line.append(glyphs[-1], self._style("cursor"))
        return line

    def _offsets_line(self, columns: int) -> Text:
        """Offsets every 8 columns, each number ending under its bar (or starting there at the left edge)."""
        cells = [" "] * columns
        for k in range(0, columns, 8):
            label = str(k)
            start = max(0, columns - k - len(label))
            cells[start:start + len(label)] = label
        return Text("k".rjust(AXIS_WIDTH - 1) + " " + "".join(cells[:columns]), self._style("muted"))

    def _neurons_line(self, att: Attribution) -> Text:
        """The neurons with the most energy summed over offsets, with their share of the total, and
        the share of ‖g_0‖² the top 10 neurons hold; the smallest shares drop out first."""
        energy = att.energy.sum(axis=0)
        total = float(energy.sum())
        muted = self._style("muted")
        fields = [Field("top neurons Σ_k g²:", 0, short="Σg²:", style=muted)]
        for rank, j in enumerate(att.top_neurons(TOP_NEURONS)):
            share = float(energy[j]) / total if total > 0 else float("nan")
            fields.append(Field(f"h{j} {share:.1%}", 2 * rank + 2))
        fields.append(Field(f"│ top-10 share at k=0 {att.top_share(10):.1%}", 3,
                            short=f"│ top-10 {att.top_share(10):.0%}", style=muted))
        return fit(fields, self.size.width)
