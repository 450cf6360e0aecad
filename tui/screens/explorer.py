"""The explorer: the text, the oscilloscope, attribution and interventions around one cursor.

The screen owns the cursor state (position, count, prefix, marks, lens, selected neuron) and hands
every change to the panes; engine work runs only in thread workers (see :mod:`factormap.tui.jobs`
and each pane's own workers). The layout follows the terminal through CSS classes:
``-wide`` puts the panes side by side, ``-too-small`` replaces them with a notice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from factormap.engine.session import Session
from factormap.engine.warmup import ChildWarmup
from factormap.tui import jobs, motions
from factormap.tui import text_layout as tl
from factormap.tui.keymap import EXPLORER_BINDINGS, PREFIX_KEYS
from factormap.tui.lenses import LENSES
from factormap.tui.messages import (BpcProgress, Exported, KernelsReady, KernelsWarming, Thresholds, TrustFound,
                                    WindowStates, WorkProgress)
from factormap.tui.screens.explorer_features import ExplorerFeatures
from factormap.tui.screens.explorer_grammar import KeyGrammar
from factormap.tui.screens.explorer_keys import ExplorerKeys, reported
from factormap.tui.screens.explorer_record import ExplorerRecording
from factormap.tui.user_features import UserFeatures
from factormap.tui.widgets.attribution_pane import AttributionPane
from factormap.tui.widgets.interventions_pane import InterventionsPane
from factormap.tui.widgets.legend import Legend
from factormap.tui.widgets.oscilloscope import Oscilloscope
from factormap.tui.widgets.status_line import StatusLine, trust_label
from factormap.tui.widgets.text_pane import TextBox, TextPane
from factormap.tui.widgets.fitted_footer import FittedFooter

MIN_SIZE = (60, 16)
"""Below this many columns or rows the screen shows "terminal too small" instead of the panes."""
WIDE_COLUMNS = 140
"""From this many columns on, the panes sit side by side."""
PROGRESS_POLL = 0.5
"""Seconds between two looks at how far the whole-text pass has come."""
SHORT_ROWS = 30
"""Below this many rows the footer gives its row to the panes."""
LOW_ROWS = 20
"""Below this many rows the text and the oscilloscope share their rows side by side (stacked, the
oscilloscope would get none)."""
READOUT_FEATURES = ("word_len", "in_tag")
"""Features whose covariance direction u is traced (h·u) on the oscilloscope."""


class ExplorerScreen(KeyGrammar, ExplorerKeys, ExplorerRecording, ExplorerFeatures, Screen):
    """The main screen; see :data:`factormap.tui.keymap.EXPLORER_BINDINGS` for its keys.

    Attributes:
        cursor: the position t (the prediction made at t is of byte t+1).
        lens: the text pane's active lens.
        neuron: the selected neuron.
        pending: keys typed so far of an unfinished command (count digits or a prefix).
    """

    BINDINGS = EXPLORER_BINDINGS
    AUTO_FOCUS = "#text"

    # var, not reactive: a change must redraw the panes it reaches, never the whole screen.
    cursor: var[int] = var(0, init=False)
    lens: var[str] = var("surprisal", init=False)
    neuron: var[int] = var(0, init=False)
    pending: var[str] = var("", init=False)

    def __init__(self, session: Session, model_path: Path, text_path: Path,
                 warmup_ahead: ChildWarmup | None = None) -> None:
        """Args:
            session: the model and text being explored.
            model_path: the model file (for names; never written).
            text_path: the text file (for names; never written).
            warmup_ahead: kernels a child process is compiling meanwhile (loaded once it is done).
        """
        super().__init__()
        self.session = session
        self.model_path, self.text_path = model_path, text_path
        self.warmup_ahead = warmup_ahead
        self.marks: dict[str, int] = {}
        self.user_features = UserFeatures(session)
        self.needle = b""
        self.thresholds: dict[str, float] = {}
        self.delta_bits: np.ndarray | None = None
        self.attribution = None
        self._prompt_kind = ""
        self._pending_jump = 0
        self._states_window = (0, 0)

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """Text and legend, the three data panes, the prompt, the status line and the footer."""
        s = self.session
        # On a first run a child process compiles the attribution kernels: the panes wait for them.
        loaded = self.warmup_ahead.loaded if self.warmup_ahead is not None else None
        oscilloscope = Oscilloscope(s, kernels_loaded=loaded, id="oscilloscope")
        oscilloscope.can_focus = True  # so tab reaches it and z can maximise it
        attribution = AttributionPane(s, kernels_loaded=loaded, id="attribution")
        interventions = InterventionsPane(s, id="interventions")
        oscilloscope.border_title = "oscilloscope  a/x add/drop the selected neuron"
        attribution.border_title = "attribution"
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with TextBox(id="text-box") as box:
                    box.border_title = "text · surprisal"
                    yield TextPane(s.text, s.bits, id="text")
                    yield Legend(id="legend")
                yield oscilloscope
            with Vertical(id="right"):
                yield attribution
                yield interventions
        yield Static("terminal too small: make it at least "
                     f"{MIN_SIZE[0]}×{MIN_SIZE[1]}", id="too-small")
        # Not select_on_focus: the Input handles its Focus event later, on its own queue, by when the
        # grammar may have typed the first keys of a burst into it; selecting them then made the
        # next key replace them (":1000" became ":000").
        yield Input(id="prompt", classes="-hidden", select_on_focus=False)
        yield StatusLine(self.model_path.name, self.text_path.name, s.H, s.n, id="status")
        yield FittedFooter()

    def on_mount(self) -> None:
        """Start the whole-text pass, then the trust figures, and show the first position."""
        status = self.query_one(StatusLine)
        status.work, status.precision = "loading kernels", str(self.session.model.dtype)

        def startup() -> None:
            jobs.warm_kernels(self.post_message, self.warmup_ahead)
            jobs.stream_bpc(self.session, self.post_message, self._cancelled)
            jobs.find_trust(self.session, self.post_message, self._cancelled)  # after: both cores for the pass

        self.run_worker(startup, thread=True, group="bpc", exclusive=True, exit_on_error=False,
                        name="whole-text pass")
        self._progress_timer = self.set_interval(PROGRESS_POLL, self._poll_progress)
        self._cursor_moved()
        self.start_recording_hooks()

    def _poll_progress(self) -> None:
        """The pass also advances for the panes (a jump far ahead needs every state before it)."""
        status = self.query_one(StatusLine)
        if status.bpc_done < 1.0:
            status.bpc_done = max(status.bpc_done, min(self.session.done / self.session.n, 0.99))

    def on_resize(self, event: events.Resize) -> None:
        """Switch between the stacked, side-by-side and too-small layouts."""
        w, h = event.size
        self.set_class(w < MIN_SIZE[0] or h < MIN_SIZE[1], "-too-small")
        self.set_class(w >= WIDE_COLUMNS, "-wide")
        self.set_class(h < SHORT_ROWS, "-short")
        self.set_class(h < LOW_ROWS and w < WIDE_COLUMNS, "-low")
        self.call_after_refresh(self._cursor_moved)
        self.call_after_refresh(self._refocus)

    def _refocus(self) -> None:
        """Give the text pane the focus when no shown pane has it (the too-small notice hid them all)."""
        focused = self.focused
        if not self.has_class("-too-small") and (focused is None or not focused.display
                                                  or any(not node.display for node in focused.ancestors)):
            self.set_focus(self.query_one(TextPane))

    # -- state to panes ---------------------------------------------------------------------
    @staticmethod
    def _cancelled() -> bool:
        return get_current_worker().is_cancelled

    def _cursor_moved(self) -> None:
        t = self.cursor
        text_pane = self.query_one(TextPane)
        text_pane.cursor = t
        status = self.query_one(StatusLine)
        status.cursor, status.byte = t, self.session.x[t]
        status.bits = float(self.session.bits[t]) if t < self.session.n - 1 else float("nan")
        # One query_one per pane: a query of the three walks the whole screen (4 ms a key held down).
        for pane_id in ("#oscilloscope", "#attribution", "#interventions"):
            self.query_one(pane_id).set_cursor(t)
        self.query_one(InterventionsPane).set_window(*text_pane.window)
        self._request_window_states()

    def watch_cursor(self) -> None:
        """Every pane follows the cursor."""
        self._cursor_moved()

    def watch_lens(self, lens: str) -> None:
        """The text pane, legend and status line show the new lens."""
        self.query_one(TextPane).lens = lens
        self.query_one(TextBox).border_title = f"text · {LENSES[lens].title}"
        self.query_one(Legend).lens = lens
        self.query_one(StatusLine).lens = LENSES[lens].title
        self._update_legend_note()
        self._request_window_states()

    def watch_neuron(self, j: int) -> None:
        """The activation lens, legend, status and the interventions' ablate row follow the neuron."""
        self.query_one(TextPane).neuron = j
        self.query_one(Legend).neuron = j
        self.query_one(StatusLine).neuron = j
        self.query_one(InterventionsPane).selected_neuron = j
        self.query_one(AttributionPane).set_neuron(j)

    def watch_pending(self, pending: str) -> None:
        """Show an unfinished command in the status line."""
        self.query_one(StatusLine).pending = pending

    def _update_legend_note(self) -> None:
        notes = {"delta_bits": "" if self.delta_bits is not None else "no intervention active",
                 "activation": "", "surprisal": "", "attribution": ""}
        self.query_one(Legend).note = notes[self.lens]

    def _request_window_states(self) -> None:
        if self.lens != "activation":
            return
        t0, t1 = self.query_one(TextPane).window
        if (t0, t1) == self._states_window:
            return
        self._states_window = (t0, t1)
        session = self.session

        def job() -> None:
            states = session.states(t0, t1)
            if not self._cancelled():
                self.post_message(WindowStates(t0, states))

        self.run_worker(job, thread=True, group="window", exclusive=True, exit_on_error=False,
                        name="window states")

    # -- results of background work -------------------------------------------------------
    def on_kernels_warming(self, message: KernelsWarming) -> None:
        """Show how far loading or compiling the kernels has come."""
        self.query_one(StatusLine).work = f"kernels {message.done}/{message.total} ({message.module})"

    def on_kernels_ready(self, message: KernelsReady) -> None:
        """Compilation is over: the status line shows the pass instead."""
        self.query_one(StatusLine).work = "BPC pass"

    @reported
    def on_bpc_progress(self, message: BpcProgress) -> None:
        """Show the running BPC and tint the newly known bits."""
        status = self.query_one(StatusLine)
        status.bpc = message.bpc
        status.bpc_done = max(status.bpc_done, min(message.done / message.total, 0.99))
        if message.complete:
            self._progress_timer.stop()
            status.bpc_done = 1.0
            status.work = ""
            self.thresholds.pop("surprisal", None)
        t = self.cursor
        status.bits = float(self.session.bits[t]) if t < self.session.n - 1 else float("nan")
        self.query_one(TextPane).refresh_tints()

    @reported
    def on_attribution_pane_computed(self, message: AttributionPane.Computed) -> None:
        """Heat for the attribution lens: the pane's quantity per offset k, as a share of its largest."""
        self.attribution = message.attribution
        self.show_heat(message.attribution)

    def show_heat(self, att) -> None:
        """Tint the attribution lens with the pane's current quantity for ``att``."""
        values = np.abs(self.query_one("#attribution").offset_values(att))
        top = float(np.max(values)) if values.size else 0.0
        heat = values / top if top > 0 else np.zeros_like(values)
        self.query_one(TextPane).set_heat(att.t, heat)

    @reported
    def on_interventions_pane_delta_bits_changed(self, message: InterventionsPane.DeltaBitsChanged) -> None:
        """The Δbits lens and the Δbits jumps follow the active interventions."""
        self.delta_bits = message.delta_bits
        self.thresholds.pop("delta_bits", None)
        self.query_one(TextPane).set_delta_bits(message.delta_bits)
        self._update_legend_note()

    @reported
    def on_interventions_pane_factor_map_ready(self, message: InterventionsPane.FactorMapReady) -> None:
        """Trace the word-length and tag readouts (h·u) on the oscilloscope once the factor map exists."""
        readouts = message.factor_map.readouts
        self.standard_traces = {f"h·u_{name}": readouts[name].cov_direction
                                for name in READOUT_FEATURES if name in readouts}
        self.retrace()

    def on_text_pane_clicked(self, message: TextPane.Clicked) -> None:
        """Mouse welcome: a click puts the cursor on the byte."""
        self.move_to(message.t)

    @reported
    def on_window_states(self, message: WindowStates) -> None:
        """Tint the activation lens from the window's states."""
        self.query_one(TextPane).set_window_states(message.t0, message.states)

    def on_trust_found(self, message: TrustFound) -> None:
        """The status line shows how far float32 figures hold on this text."""
        self.query_one(StatusLine).trust = trust_label(message.horizon, message.lyapunov, message.positions,
                                                       self.session.n)

    def on_work_progress(self, message: WorkProgress) -> None:
        """Show a job's progress in the status line."""
        self.query_one(StatusLine).work = f"{message.what} {message.fraction:.0%}"

    def on_exported(self, message: Exported) -> None:
        """Say where the export went."""
        self.query_one(StatusLine).work = ""
        self.notify(f"exported positions {message.t0:,}–{message.t1 - 1:,} to {message.path}", timeout=6)

    @reported
    def on_thresholds(self, message: Thresholds) -> None:
        """Remember what counts as high; finish a jump that was waiting for it."""
        self.thresholds[message.lens] = message.value
        if self._pending_jump:
            direction, self._pending_jump = self._pending_jump, 0
            self.action_jump(direction)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed job becomes a notification, never a traceback; its progress leaves the status line."""
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            status = self.query_one(StatusLine)
            if status.work.startswith(f"{event.worker.name} "):  # shown by WorkProgress under the job's name
                status.work = ""
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", timeout=8)

    # -- prompt (typed into through the key grammar, which runs it on enter) ---------------
    def _close_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.add_class("-hidden")
        self.set_focus(self.query_one(TextPane))  # now, not after a refresh: the next key may be here

    def move_to(self, t: int, jump: bool = False) -> None:
        """Put the cursor at ``t`` (clamped); a jump remembers where it came from for ``''``."""
        t = max(0, min(self.session.n - 1, int(t)))
        if jump and t != self.cursor:
            self.marks["'"] = self.cursor
        self.cursor = t

    def take_count(self, default: int = 1) -> int:
        """The pending count (or ``default``), cleared."""
        digits = self.pending.rstrip(PREFIX_KEYS)
        self.pending = ""
        return int(digits) if digits else default

    def visible_rows(self) -> tuple[int, int]:
        """(rows, width) of the text pane, for page motions."""
        pane = self.query_one(TextPane)
        return pane.page_rows, pane.row_width

    def text_motion(self, name: str) -> int:
        """The position a word motion (``w``, ``b``, ``e``) leads to from the cursor."""
        fn = {"w": motions.word_forward, "b": motions.word_backward, "e": motions.word_end}[name]
        return fn(self.session.text, self.cursor)

    def move_rows(self, rows: int) -> int:
        """The position ``rows`` text rows below (above) the cursor."""
        _, width = self.visible_rows()
        return tl.move_rows(self.session.text, self.cursor, width, rows)
