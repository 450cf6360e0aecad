"""The inspector: where a neuron or a feature direction fires across the whole text.

Opened with ``I`` over the explorer, on the selected neuron. The screen lists the K positions
where the probe's value ``a_t`` (``h_t[j]``, or ``h_t · u`` for a direction) is highest, then the
K where it is lowest, each with its context; up/down step through them and enter closes the
inspector with that position, which the explorer's cursor jumps to. Beside the list: the histogram
of ``a_t`` with the threshold the user moves (``+``/``-``, one bin edge at a time) and the fraction
of positions at or above it, the correlation with every feature, the rank by gradient energy and
the causal cost against its matched null (:mod:`factormap.engine.workbench`). ``d`` moves to the
next probe: the neuron, then the covariance directions of the standard features and of the
user's ``:feature`` ones (their factor map is computed on first need).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.features import STANDARD_FEATURES
from factormap.engine.interventions.directions import feature_direction
from factormap.engine.workbench.causal import CausalCost, causal_cost
from factormap.engine.workbench.gradient_rank import GradientRank, gradient_rank
from factormap.engine.workbench.inspect import Inspection, inspect_probe
from factormap.engine.workbench.probe import Probe
from factormap.tui.fields import compact, fixed
from factormap.tui.glyphs import escaped
from factormap.tui.screens.help import QUIT_KEY
from factormap.tui.widgets.fitted_footer import FittedFooter

TOP = 10
"""Positions listed at each end."""
BINS = 20
"""Bins of the histogram."""
BAR = 24
"""Cells of the longest histogram bar, where the side column has room for them."""
ROW_LABEL = 10
"""Cells of a histogram row before its bar: the threshold mark, ``≥`` and the bin's lower edge."""


def edge_decimals(edges: np.ndarray) -> int:
    """Decimals that tell neighbouring bin edges apart (a rounding step at most a fifth of a bin's
    width): two, or more for bins narrower than 0.05."""
    width = float(edges[1] - edges[0]) if edges.size > 1 else 1.0
    return max(2, math.ceil(-math.log10(width / 5))) if width > 0 else 2

INSPECTOR_BINDINGS: list[Binding] = [
    Binding("escape,I", "close", "back", tooltip="Back to the explorer without moving", id="inspector-close"),
    Binding("plus,equals_sign", "threshold(+1)", "threshold+", key_display="+", id="inspector-threshold-up",
            tooltip="Move the threshold up one bin edge"),
    Binding("minus", "threshold(-1)", "threshold−", key_display="-", id="inspector-threshold-down",
            tooltip="Move the threshold down one bin edge"),
    Binding("d", "next_probe", "next probe", id="inspector-next-probe",
            tooltip="Inspect the next probe: the neuron, then each feature's covariance direction"),
    QUIT_KEY,
]
"""The inspector's keys (the list adds up/down and enter, which jumps the explorer's cursor)."""


@dataclass
class InspectorProgress(Message):
    """How far the inspector's worker has come.

    Attributes:
        stage: what it is computing ("factor map", "inspect", "gradient", "causal").
        fraction: 0..1 of that stage.
    """

    stage: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        """A newer fraction makes a queued one pointless."""
        return isinstance(message, InspectorProgress)


@dataclass
class InspectorResult(Message):
    """One of the inspector's figures is ready.

    Attributes:
        probe_index: the probe it belongs to.
        value: an Inspection, GradientRank or CausalCost.
    """

    probe_index: int
    value: object


class InspectorScreen(Screen[int | None]):
    """The inspector of one probe at a time; dismissed with a position to jump to, or None.

    Args:
        session: the engine session.
        neuron: the selected neuron, the first probe.
        features: the user's features (name -> (n,) array), correlated and offered as directions.
    """

    BINDINGS = INSPECTOR_BINDINGS
    DEFAULT_CSS = """
    InspectorScreen #inspector-title { height: auto; text-style: bold; padding: 0 1; }
    InspectorScreen #inspector-positions { width: 3fr; height: 1fr; }
    InspectorScreen #inspector-side { width: 2fr; height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    InspectorScreen #inspector-progress { height: 1; }
    """

    probe_index: var[int] = var(0, init=False)
    """Which of :attr:`probe_names` is inspected."""
    threshold_edge: var[int] = var(BINS // 2, init=False)
    """The histogram edge the threshold sits on."""

    def __init__(self, session, neuron: int, features: dict[str, np.ndarray] | None = None) -> None:
        super().__init__()
        self.session = session
        self.features = dict(features or {})
        self.probe_names: list[str] = [f"h[{neuron}]", *(f"u_{name}" for name in (*STANDARD_FEATURES, *self.features))]
        """Every probe ``d`` cycles through."""
        self.probes: dict[int, Probe] = {0: Probe.of_neuron(neuron, session.H)}
        self.inspection: Inspection | None = None
        self.rank: GradientRank | None = None
        self.cost: CausalCost | None = None
        self._factor_map = None

    def compose(self) -> ComposeResult:
        """Title, the list of positions, the histogram and figures, progress and footer."""
        yield Static(id="inspector-title")
        with Horizontal():
            yield OptionList(id="inspector-positions")
            with VerticalScroll(id="inspector-side"):  # at 80x24 its figures scroll below the histogram
                yield Static(id="inspector-histogram")
                yield Static(id="inspector-figures")
        yield ProgressBar(id="inspector-progress", show_eta=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        """Start on the neuron."""
        self._start()

    # -- work -------------------------------------------------------------------------------
    def _start(self) -> None:
        self.inspection = self.rank = self.cost = None
        self.query_one(ProgressBar).update(total=1.0, progress=0.0)  # not the last probe's 100%
        self.query_one(OptionList).clear_options()
        self._redraw()
        self._inspect(self.probe_index)

    @work(thread=True, exclusive=True, group="inspector", exit_on_error=False)
    def _inspect(self, index: int) -> None:
        worker = get_current_worker()
        stop = lambda: worker.is_cancelled  # noqa: E731

        def progress(stage: str):
            return lambda f: self.post_message(InspectorProgress(stage, f))

        probe = self.probes.get(index)
        if probe is None:
            probe = self._direction(index, progress("factor map"), stop)
        for stage, compute in (
            ("inspect", lambda p: inspect_probe(self.session, probe, top=TOP, bins=BINS, features=self.features,
                                                progress=p, should_stop=stop)),
            ("gradient", lambda p: gradient_rank(self.session, probe, progress=p, should_stop=stop)),
            ("causal", lambda p: causal_cost(self.session, probe, progress=p, should_stop=stop)),
        ):
            value = compute(progress(stage))
            if worker.is_cancelled:
                return
            self.post_message(InspectorResult(index, value))

    def _direction(self, index: int, progress, stop) -> Probe:
        """The covariance direction of probe ``index``'s feature (the factor map once, on this thread)."""
        if self._factor_map is None:
            self._factor_map = compute_factor_map(self.session, extra_features=self.features, progress=progress,
                                                  should_stop=stop)
        name = self.probe_names[index].removeprefix("u_")
        probe = Probe.of_direction(feature_direction(self._factor_map, name), self.probe_names[index])
        self.probes[index] = probe
        return probe

    def on_inspector_progress(self, message: InspectorProgress) -> None:
        """Show how far the stage has come."""
        bar = self.query_one(ProgressBar)
        bar.update(total=1.0, progress=message.fraction)
        bar.tooltip = message.stage

    def on_inspector_result(self, message: InspectorResult) -> None:
        """Keep a figure of the current probe and redraw."""
        if message.probe_index != self.probe_index:
            return
        value = message.value
        if isinstance(value, Inspection):
            self.inspection = value
            self._fill_positions(value)
        elif isinstance(value, GradientRank):
            self.rank = value
        else:
            self.cost = value
        self._redraw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failure becomes a notification, never a traceback."""
        if event.worker.group == "inspector" and event.state == WorkerState.ERROR:
            self.notify(f"inspector: {event.worker.error}", severity="error", timeout=8)

    # -- drawing ----------------------------------------------------------------------------
    def _fill_positions(self, ins: Inspection) -> None:
        options = []
        for end, positions, values in (("high", ins.top_positions, ins.top_values),
                                       ("low", ins.bottom_positions, ins.bottom_values)):
            for rank, (t, v) in enumerate(zip(positions.tolist(), values.tolist())):
                before, byte, after = ins.contexts[t]
                line = Text(f"{end} {rank + 1:>2}  t={t:<8,} {compact(v, signed=True):>7}  ")
                line.append(escaped(before))
                line.append(escaped(byte), style="reverse bold")
                line.append(escaped(after))
                options.append(Option(line, id=f"{end}-{rank}-{t}"))
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(options)
        option_list.highlighted = 0
        option_list.focus()

    def _redraw(self) -> None:
        name = self.probe_names[self.probe_index]
        ins = self.inspection
        title = f"Inspector: {name} ({self.probe_index + 1}/{len(self.probe_names)}; d: next probe)"
        if ins is not None:
            title += f" — {ins.n:,} positions, mean {compact(ins.mean, signed=True)}, sd {compact(ins.sd)}"
        self.query_one("#inspector-title", Static).update(title)
        self.query_one("#inspector-histogram", Static).update(self._histogram())
        self.query_one("#inspector-figures", Static).update(self._figures())

    def _histogram(self) -> Text:
        ins = self.inspection
        if ins is None:
            return Text("inspecting the whole text…", style="dim")
        edge = self.threshold_edge
        counts, edges = ins.histogram_counts, ins.histogram_edges
        decimals = edge_decimals(edges)
        most = max(int(counts.max()), 1)
        room = self.query_one("#inspector-histogram").content_size.width - ROW_LABEL
        bar = BAR if room <= 0 else min(BAR, room)  # a bar wider than the column would wrap onto the next row
        out = Text("bins, from lower edge\n", style="dim")
        for i in range(counts.size - 1, -1, -1):
            mark = "▶" if i == edge else " "
            style = "bold" if i >= edge else "dim"
            label = f"≥ {fixed(edges[i], decimals, signed=True)}"
            out.append(f"{mark}{label:>{ROW_LABEL - 2}} {'█' * round(bar * counts[i] / most)}\n", style)
        out.append(f"{100 * ins.fraction_at_or_above_edge(edge):.1f}% of positions at or above "
                   f"{fixed(edges[edge], decimals, signed=True)} (+/-: move)")
        return out

    def on_resize(self) -> None:
        """The bars fit the side column's new width."""
        self._redraw()

    def _figures(self) -> Text:
        out = Text()
        if self.inspection is not None:
            out.append("r with each feature: " + ", ".join(
                f"{name} {compact(r, signed=True)}" for name, r in self.inspection.correlations.items()) + "\n")
        if self.rank is not None:
            out.append(f"rank by gradient energy: {self.rank.rank} of {self.rank.unit_energy.size} units, over a "
                       f"sample of {self.rank.samples:,} of the {self.session.n - 1:,} predictions\n")
        if self.cost is not None:
            for label, c in (("every step", self.cost.each_step), ("readout", self.cost.readout)):
                out.append(f"removed {label}: ΔBPC {compact(c.delta_bpc, signed=True)}, null percentile "
                           f"{c.percentile:.0f}, z {compact(c.z, signed=True)} "
                           f"(random {compact(c.null_mean, signed=True)} ± {compact(c.null_sd)})\n")
            out.append(f"through the recurrence: {compact(self.cost.through_recurrence, signed=True)}")
        elif self.inspection is not None:
            out.append("causal cost: running…", style="dim")
        return out

    # -- keys -------------------------------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter: close with the position, which the explorer jumps to."""
        self.dismiss(int(event.option.id.rsplit("-", 1)[1]))

    def action_threshold(self, step: int) -> None:
        """Move the threshold by ``step`` bin edges."""
        self.threshold_edge = int(np.clip(self.threshold_edge + step, 0, BINS - 1))

    def watch_threshold_edge(self) -> None:
        """Redraw the histogram with the new threshold."""
        self._redraw()

    def action_next_probe(self) -> None:
        """Inspect the next probe (cancels the current one's work)."""
        self.probe_index = (self.probe_index + 1) % len(self.probe_names)
        self._start()

    def action_close(self) -> None:
        """Back to the explorer without moving."""
        self.workers.cancel_group(self, "inspector")
        self.dismiss(None)
