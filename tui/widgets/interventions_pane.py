"""The interventions pane: switch edits of the network on and off and watch what they cost in bits.

Every row runs in its own thread worker (group ``intervention-<row>``, exclusive, so toggling a row
again cancels its stale run): build the engine spec, give Δbits at the cursor and over the window
first, stream the whole-text ΔBPC with progress, then the sensitivity band of edits that feed the
recurrence (and the residual readout where a row asks for it). The factor map the u_wl rows need
is computed once, in its own worker, on first need.
Cursor moves only ask a short worker for lookups in runs that are already complete (or cheap:
readout-only edits never re-run the recurrence).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from textual import work
from textual.app import RenderResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.worker import Worker, WorkerState, get_current_worker

from factormap.engine.factor_map.compute import FactorMap, compute_factor_map
from factormap.engine.interventions.run import EditedRun, InterventionResult, intervention_delta
from factormap.engine.session import Session
from factormap.tui.fields import Field
from factormap.tui.widgets.intervention_rows import (
    ROWS,
    InterventionRow,
    RowState,
    run_row,
    toggle_keys,
    user_feature_rows,
)
from factormap.tui.widgets.interventions_view import pane_text
from factormap.tui.widgets.pane_title import FittedTitle
from factormap.tui.widgets.reach import reach

DEFAULT_WINDOW = 256
"""Width of the window around the cursor until the shell sets one."""
READOUT_DIRECTIONS = {"u_wl": "word_len", "u_tag": "in_tag"}
"""The directions :class:`InterventionsPane.FactorMapReady` offers: label -> factor-map feature."""


class InterventionsPane(FittedTitle, Widget, can_focus=True):
    """Rows of switchable interventions with their ΔBPC, Δbits at the cursor and in the window.

    Args:
        session: the engine session (the baseline).
        id: the DOM id.
    """

    DEFAULT_CSS = """
    InterventionsPane { width: 1fr; height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    InterventionsPane > .interventions-pane--on { color: $success; text-style: bold; }
    InterventionsPane > .interventions-pane--highlight { background: $boost; }
    InterventionsPane > .interventions-pane--muted { color: $text-muted; }
    InterventionsPane > .interventions-pane--error { color: $error; }
    """
    COMPONENT_CLASSES = {"interventions-pane--on", "interventions-pane--highlight",
                         "interventions-pane--muted", "interventions-pane--error"}
    BINDINGS = [
        Binding("down", "highlight(+1)", "Next edit", show=False, id="interventions-next"),
        Binding("up", "highlight(-1)", "Previous edit", show=False, id="interventions-previous"),
        Binding("space,enter", "toggle_highlighted", "Toggle edit", tooltip="Switch the highlighted edit on or off",
                id="interventions-toggle"),
    ]

    highlighted: var[int] = var(0)
    """The row that space toggles."""
    active_count: var[int] = var(0, init=False)
    """How many edits are on."""

    @dataclass
    class DeltaBitsChanged(Message):
        """Per-position Δbits of the active edits against the baseline changed.

        Attributes:
            delta_bits: (n-1,) ``bits'_t - bits_t`` under every active edit together; None when none is on.
        """

        delta_bits: np.ndarray | None

    @dataclass
    class Toggled(Message):
        """A row was switched on or off (by any path: a key, the pane's own keys, a replay).

        Attributes:
            row: the row, 0-based.
            on: True when it is on now.
            definition: the row's :class:`InterventionRow` then (user features' rows come and go).
        """

        row: int
        on: bool
        definition: InterventionRow | None = None

    @dataclass
    class FactorMapReady(Message):
        """The factor map the rows use is computed.

        Attributes:
            factor_map: the engine's factor map of the session.
            directions: readout directions for the oscilloscope's h·u traces: ``u_wl`` and ``u_tag``,
                the covariance directions of word_len and in_tag.
        """

        factor_map: FactorMap
        directions: dict[str, np.ndarray]

    @dataclass
    class RowUpdate(Message, bubble=False):
        """A row's worker reports (internal); ``changes`` are RowState fields, ``token`` the run they belong to."""

        row: int
        token: int
        changes: dict = field(default_factory=dict)

        def can_replace(self, message: Message) -> bool:
            """A newer progress fraction of the same run makes a queued one pointless."""
            return (isinstance(message, InterventionsPane.RowUpdate) and (message.row, message.token) ==
                    (self.row, self.token) and set(message.changes) == set(self.changes) == {"fraction"})

    @dataclass
    class FactorMapProgress(Message, bubble=False):
        """The factor map's pass advanced (internal)."""

        fraction: float

        def can_replace(self, message: Message) -> bool:
            """A newer fraction makes a queued one pointless."""
            return isinstance(message, InterventionsPane.FactorMapProgress)

    def __init__(self, session: Session, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.session = session
        self.row_defs: list[InterventionRow] = list(ROWS)
        """The rows' definitions: :data:`ROWS`, then two per user feature (:meth:`set_feature_rows`)."""
        self.rows = [RowState() for _ in ROWS]
        self.factor_map: FactorMap | None = None
        """The factor map, once computed."""
        self.factor_map_fraction: float | None = None
        """Progress of the factor map's pass (None when it is not running)."""
        self.combined: InterventionResult | None = None
        """The whole-text result of all active edits together (when two or more are on)."""
        self.delta_bits: np.ndarray | None = None
        """The Δbits last posted in :class:`DeltaBitsChanged`."""
        self.cursor = 0
        self.window: tuple[int, int] = (0, min(session.n, DEFAULT_WINDOW))
        self._shown = None  # the Text last drawn: a move that changes none of it repaints nothing
        self.subtitle_shown: str | None = None
        """The lower border's text as :func:`~.interventions_view.pane_text` last set it."""
        self._window_set = False
        self._selected_neuron = 0
        self._retitle()

    # -- public API -------------------------------------------------------------------------
    @property
    def selected_neuron(self) -> int:
        """The unit the "ablate" row sets to zero; changing it re-runs that row if it is on."""
        return self._selected_neuron

    @selected_neuron.setter
    def selected_neuron(self, j: int) -> None:
        if not 0 <= j < self.session.H:
            raise ValueError(f"unit {j} is outside 0..{self.session.H - 1}")
        if j != self._selected_neuron:
            self._selected_neuron = int(j)
            for i, row in enumerate(self.rows):
                if row.on and "{neuron}" in self.row_defs[i].name:
                    self._start_row(i)
            self.refresh()

    def set_feature_rows(self, name: str, direction: np.ndarray) -> None:
        """Add the rows of user feature ``name``'s direction (subtract at every step, at the readout)."""
        self.drop_feature_rows(name)
        self.row_defs.extend(user_feature_rows(name, direction))
        self.rows.extend(RowState() for _ in range(2))
        self._retitle()
        self.refresh()

    def drop_feature_rows(self, name: str) -> None:
        """Remove user feature ``name``'s rows; the user rows after them are switched off (their
        numbers change)."""
        keys = {f"subtract_each_step.{name}", f"subtract_at_readout.{name}"}
        hit = [i for i, d in enumerate(self.row_defs) if d.edit.key in keys]
        if not hit:
            return
        for i in range(hit[0], len(self.rows)):
            if self.rows[i].on:
                self.toggle(i)
        keep = [i for i in range(len(self.rows)) if i not in hit]
        self.row_defs = [self.row_defs[i] for i in keep]
        self.rows = [self.rows[i] for i in keep]
        self.highlighted = min(self.highlighted, len(self.rows) - 1)
        self._retitle()
        self.refresh()

    def _retitle(self) -> None:
        """The border title names the keys of the rows there are now (user features add rows); where
        the border is short, 'toggle' and then the keys drop out whole."""
        self.set_title(Field("interventions"), Field(toggle_keys(len(self.rows)), 1), Field("toggle", 2, separator=" "))

    def toggle(self, index: int) -> None:
        """Switch row ``index`` (0-based) on or off; switching cancels any run still going for it."""
        if not 0 <= index < len(self.rows):
            return
        row = self.rows[index]
        if row.on:
            self.workers.cancel_group(self, f"intervention-{index}")
            self.rows[index] = RowState(token=row.token + 1)
        else:
            row.on = True
            self._start_row(index)
        self.post_message(self.Toggled(index, self.rows[index].on, self.row_defs[index]))
        self.active_count = sum(r.on for r in self.rows)
        self._update_delta_bits()
        self.refresh()

    def set_cursor(self, t: int) -> None:
        """Show Δbits at position ``t`` (and around it, until the shell sets a window)."""
        t = min(max(0, int(t)), self.session.n - 1)
        if t == self.cursor:
            return
        self.cursor = t
        if not self._window_set:
            t0 = min(max(0, t - DEFAULT_WINDOW // 2), max(0, self.session.n - DEFAULT_WINDOW))
            self.window = (t0, min(self.session.n, t0 + DEFAULT_WINDOW))
        self._refresh_figures()

    def set_window(self, t0: int, t1: int) -> None:
        """Show the mean Δbits over positions [t0, t1) (the text pane's visible range)."""
        self._window_set = True
        window = (max(0, int(t0)), min(self.session.n, int(t1)))
        if window != self.window:
            self.window = window
            self._refresh_figures()

    # -- reactives ----------------------------------------------------------------------------
    def watch_active_count(self, count: int) -> None:
        """``-has-edits`` while any edit is on."""
        self.set_class(count > 0, "-has-edits")

    def watch_highlighted(self) -> None:
        """Redraw the highlight."""
        self.refresh()

    def action_highlight(self, step: int) -> None:
        """Move the highlight by ``step`` rows, wrapping around."""
        self.highlighted = (self.highlighted + step) % len(self.rows)

    def action_toggle_highlighted(self) -> None:
        """Toggle the highlighted row."""
        self.toggle(self.highlighted)

    # -- row workers --------------------------------------------------------------------------
    def _start_row(self, index: int) -> None:
        row = self.rows[index]
        self.rows[index] = row = RowState(on=True, token=row.token + 1)
        if self.row_defs[index].needs_factor_map and self.factor_map is None:
            row.stage = "factor map"
            if self.factor_map_fraction is None:
                self.factor_map_fraction = 0.0
                self._compute_factor_map()
            return
        row.stage = "starting"
        token, factor_map, neuron, place = row.token, self.factor_map, self._selected_neuron, self._place()
        definition = self.row_defs[index]

        def job() -> None:
            worker = get_current_worker()
            run_row(self.session, definition, factor_map, neuron, place,
                    lambda **changes: self.post_message(self.RowUpdate(index, token, changes)),
                    lambda: worker.is_cancelled)

        self.run_worker(job, group=f"intervention-{index}", exclusive=True, thread=True, exit_on_error=False,
                        description=definition.name)

    def on_interventions_pane_row_update(self, message: RowUpdate) -> None:
        """Apply a report from a row's worker, unless the row was toggled since it started."""
        row = self.rows[message.row]
        if message.token != row.token or not row.on:
            return
        for key, value in message.changes.items():
            setattr(row, key, value)
        if "result" in message.changes:
            self._update_delta_bits()
            self._refresh_figures()
        self.refresh()

    @work(thread=True, exclusive=True, group="factor-map", exit_on_error=False)
    def _compute_factor_map(self) -> FactorMap:
        worker = get_current_worker()
        return compute_factor_map(self.session, progress=lambda f: self.post_message(self.FactorMapProgress(f)),
                                  should_stop=lambda: worker.is_cancelled)

    def on_interventions_pane_factor_map_progress(self, message: FactorMapProgress) -> None:
        """Show how far the factor map has come."""
        if self.factor_map is None:
            self.factor_map_fraction = message.fraction
            self.refresh()

    # -- figures for the cursor and the active set ---------------------------------------------
    def _refresh_figures(self) -> None:
        """Ask for Δbits at the cursor and in the window from every run that can answer at once.

        Runs of edits that feed the recurrence answer only once complete (before that, a far cursor
        would re-run the text on the spot); their rows show "…" meanwhile.
        """
        runs = {i: r.run for i, r in enumerate(self.rows)
                if r.on and r.run is not None and (r.run.complete or not r.run.plan.feeds_recurrence)}
        if runs:
            self._cursor_figures(self._place(), runs)
        if pane_text(self) != self._shown:  # with no edit on, a key changes nothing here
            self.call_after_refresh(self.refresh)  # after the key's own frame (text pane, status)

    def _place(self) -> tuple[int, int, int]:
        return (self.cursor, *self.window)

    @work(thread=True, exclusive=True, group="interventions-cursor", exit_on_error=False)
    def _cursor_figures(self, place: tuple[int, int, int], runs: dict[int, EditedRun]) -> tuple | None:
        t, t0, t1 = place
        worker = get_current_worker()
        if not reach(self.session, max(t, t1 - 1), lambda: worker.is_cancelled):
            return None
        return place, {i: (t, t0, t1, run.delta_at(t), run.window_delta_bpc(t0, t1)) for i, run in runs.items()}

    def _update_delta_bits(self) -> None:
        """Post the Δbits of the active set: a row's own when one is on, a combined run for several."""
        active = [(i, r) for i, r in enumerate(self.rows) if r.on]
        self.combined = None
        if not active:
            self.workers.cancel_group(self, "interventions-combined")
            self._post_delta_bits(None)
        elif all(r.result is not None for _, r in active):
            if len(active) == 1:
                self._post_delta_bits(active[0][1].result.delta_bits)
            else:
                self._combine(tuple((i, r.token) for i, r in active), [r.spec for _, r in active])

    @work(thread=True, exclusive=True, group="interventions-combined", exit_on_error=False)
    def _combine(self, key: tuple, specs: list) -> tuple:
        worker = get_current_worker()
        return key, intervention_delta(self.session, specs, should_stop=lambda: worker.is_cancelled)

    def _post_delta_bits(self, delta_bits: np.ndarray | None) -> None:
        if delta_bits is None and self.delta_bits is None:
            return
        self.delta_bits = delta_bits
        self.post_message(self.DeltaBitsChanged(delta_bits))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Route finished workers' results; a failure marks its row (or notifies)."""
        group, worker = event.worker.group, event.worker
        if not group.startswith(("intervention", "factor-map")):
            return
        event.stop()
        if event.state == WorkerState.ERROR:
            self._failed(group, worker.error)
        elif event.state != WorkerState.SUCCESS:
            return
        elif group == "factor-map":
            self.factor_map, self.factor_map_fraction = worker.result, None
            readouts = self.factor_map.readouts
            directions = {label: readouts[name].cov_direction for label, name in READOUT_DIRECTIONS.items()
                          if name in readouts}
            self.post_message(self.FactorMapReady(self.factor_map, directions))
            for i, row in enumerate(self.rows):
                if row.on and row.stage == "factor map":
                    self._start_row(i)
        elif group == "interventions-cursor" and worker.result is not None:
            place, figures = worker.result
            if place == self._place():
                for i, value in figures.items():
                    if self.rows[i].on:
                        self.rows[i].figures = value
        elif group == "interventions-combined":
            key, result = worker.result
            if key == tuple((i, r.token) for i, r in enumerate(self.rows) if r.on):
                self.combined = result
                self._post_delta_bits(result.delta_bits)
        self.refresh()

    def _failed(self, group: str, error: BaseException | None) -> None:
        if group.startswith("intervention-"):
            row = self.rows[int(group.rsplit("-", 1)[1])]
            row.stage, row.error = "error", str(error)
        elif group == "factor-map":
            self.factor_map_fraction = None
            for row in self.rows:
                if row.on and row.stage == "factor map":
                    row.stage, row.error = "error", f"factor map: {error}"
        self.notify(f"interventions: {error}", severity="error")
        self.refresh()

    # -- drawing ------------------------------------------------------------------------------
    def render(self) -> RenderResult:
        """The rows and the lines below them (:func:`interventions_view.pane_text`)."""
        self._shown = pane_text(self)
        return self._shown
