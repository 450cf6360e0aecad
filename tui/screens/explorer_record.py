"""The explorer's findings that travel: recording its state changes, stepping through a replay, and
writing the finding card. A mixin of :class:`factormap.tui.screens.explorer.ExplorerScreen`.

Recording hooks the screen's state, not its keys: the cursor, lens and neuron reactives, the
oscilloscope's units, the attribution pane's mode and the interventions pane's toggles are watched,
so whatever caused a change (a key, a click, the dashboard, a prompt, a replay) it is written the
same way. Other parts of the app call :meth:`ExplorerRecording.record` for theirs (user features,
contrast targets, precision; see :data:`factormap.engine.session_record.ACTIONS`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from textual.worker import get_current_worker

from factormap.engine.errors import FactormapError
from factormap.engine.output import atomic_write_bytes, release_output, reserve_output
from factormap.engine.session_record import file_identity, record_bytes, session_header, tool_version
from factormap.engine.workbench.nulls import matched_null, null_edit_of
from factormap.tui.finding_card import CardEdit, CardPosition, card_markdown, card_paths
from factormap.tui.recorder import SessionRecorder, apply_action, edit_fields, state_actions

PROMPT_COMMANDS = {"record": "FILE.jsonl: record this session from here on",
                   "write": "FILE.md: write a finding card (with FILE.svg and FILE.jsonl beside it)"}
"""Words the ``:`` prompt takes besides a position, with what they do."""
REPLAY_NOTICE_SECONDS = 20.0
"""How long ``replay --open``'s notice that > steps stays up (the footer's > may be past a narrow screen's edge)."""
CARD_WAIT_SECONDS = 120.0
"""How long a finding card waits for the figures of the edits still being computed (toggled just
before ``:write``) before it is written without them."""


class ExplorerRecording:
    """Recording, replay stepping and the finding card (mixed into ExplorerScreen)."""

    def start_recording_hooks(self) -> None:
        """Watch every state a record holds; start the app's recorder (``--record``) and its replay."""
        self.watch(self, "cursor", lambda t: self.record("move", t=int(t)), init=False)
        self.watch(self, "lens", lambda lens: self.record("lens", lens=lens), init=False)
        self.watch(self, "neuron", lambda j: self.record("neuron", neuron=int(j)), init=False)
        self.watch(self.query_one("#oscilloscope"), "neurons",
                   lambda units: self.record("traces", neurons=[int(j) for j in units]), init=False)
        self.watch(self.query_one("#attribution"), "mode", lambda mode: self.record("attribution_mode", mode=mode),
                   init=False)
        if self.recorder is not None:
            self._record_state()
        if self.app_replay:
            self.app.bind("greater_than_sign", "screen.replay_step", description="next action", key_display=">")
            self.notify(f"replay: the app is at the record's start; press > to apply each recorded action in turn "
                        f"({len(self.app_replay)} in all)", timeout=REPLAY_NOTICE_SECONDS)

    @property
    def recorder(self) -> SessionRecorder | None:
        """The app's recorder (None when nothing is recorded)."""
        return getattr(self.app, "recorder", None)

    @property
    def app_replay(self) -> list[dict]:
        """The recorded actions ``replay --open`` steps through (those not yet applied)."""
        return getattr(self.app, "replay_actions", None) or []

    def record(self, action: str, **fields) -> None:
        """Append one state change to the session record, if one is being written.

        Args:
            action: a name of :data:`factormap.engine.session_record.ACTIONS`.
            **fields: that action's fields.
        """
        recorder = self.recorder
        if recorder is None:
            return
        try:
            recorder.record(action, **fields)
        except (OSError, FactormapError) as exc:
            self.app.recorder = None
            self.notify(f"recording stopped: {exc}", severity="error", timeout=8)

    def _record_state(self) -> None:
        for action, fields in state_actions(self):
            self.record(action, **fields)

    def on_interventions_pane_toggled(self, message) -> None:
        """Record an edit switched on or off (by a key, the pane's own keys, or a replay)."""
        self.record("edit", **edit_fields(message.row, message.on, self.neuron, {message.row: message.definition}))

    # -- the ":" prompt's words -------------------------------------------------------------
    def run_prompt_command(self, line: str) -> bool:
        """Run ``record FILE`` or ``write FILE.md`` typed at the ``:`` prompt; False for other input."""
        word, _, argument = line.strip().partition(" ")
        if word not in PROMPT_COMMANDS:
            return False
        argument = argument.strip()
        if not argument:
            self.notify(f":{word} {PROMPT_COMMANDS[word]}", severity="warning", timeout=4)
        elif word == "record":
            self.start_recording(Path(argument).expanduser())
        else:
            self.write_finding_card(Path(argument).expanduser())
        return True

    def start_recording(self, path: Path) -> None:
        """Record from here on into the new file ``path``, starting with the current state."""
        if self.recorder is not None:
            self.notify(f"already recording to {self.recorder.path}", severity="warning", timeout=4)
            return
        try:
            self.app.recorder = SessionRecorder(path, self.model_path, self.text_path,
                                                str(self.session.model.dtype), self.query_one("#attribution").K)
        except (OSError, FactormapError) as exc:
            self.notify(f"record: {exc}", severity="error", timeout=8)
            return
        self._record_state()
        self.notify(f"recording to {path}", timeout=4)

    def action_replay_step(self) -> None:
        """Apply the next recorded action of ``replay --open``."""
        actions = self.app_replay
        if not actions:
            self.notify("the replay is over", timeout=3)
            return
        summary = apply_action(self, actions[0])
        if summary is None:
            self.notify(f"{actions[0].get('i', '?')}: its row is not there yet; press > again once the "
                        "feature's readout is in", severity="warning", timeout=4)
            return
        entry = actions.pop(0)
        self.notify(f"{entry.get('i', '?')}: {summary} ({len(actions)} left)", timeout=3)

    # -- the finding card ---------------------------------------------------------------------
    def card_figures(self) -> tuple[CardPosition, list[CardEdit], float | None]:
        """The figures on the screen now: the cursor's position and the active edits."""
        t, session = self.cursor, self.session
        att = self.query_one("#attribution").attribution
        bits = float(session.bits[t]) if t < session.n - 1 else None
        position = CardPosition(t=t, byte=int(session.x[t]), bits=bits)
        if att is not None and att.t == t:
            energy = att.energy.sum(axis=0)
            total = float(energy.sum()) or float("nan")
            k = int(np.argmax(att.grad_norms))
            position = CardPosition(
                t=t, byte=int(session.x[t]), bits=bits, target=att.target, prob=att.prob,
                top=[(int(b), float(p)) for b, p in zip(att.top_bytes, att.top_probs)],
                grad_norm_max=(float(att.grad_norms[k]), k),
                top_neurons=[(int(j), float(energy[j]) / total) for j in att.top_neurons(5)],
                contrast=att.contrast, contrast_prob=att.contrast_prob, value=att.value, target_bits=att.bits)
        pane = self.query_one("#interventions")
        edits = []
        for i, row in enumerate(pane.rows):
            if not row.on:
                continue
            current = row.figures is not None and row.figures[0] == t
            fields = edit_fields(i, True, self.neuron, pane.row_defs)
            edits.append(CardEdit(
                row=i, key=fields["key"], name=fields["name"],
                describe=row.spec.describe() if row.spec is not None else "(still being built)",
                delta_bpc=row.result.delta_bpc if row.result is not None else None,
                band=(row.band.min, row.band.max) if row.band is not None else None,
                null_percentile=row.null.percentile if row.null is not None else None,
                delta_at_t=row.figures[3] if current else None))
        combined = pane.combined.delta_bpc if pane.combined is not None else None
        return position, edits, combined

    def edits_in_progress(self) -> list[str]:
        """The names of the active edits whose figures are still being computed."""
        pane = self.query_one("#interventions")
        return [edit_fields(i, True, self.neuron, pane.row_defs)["name"]
                for i, row in enumerate(pane.rows) if row.on and row.stage not in ("done", "error")]

    def _wait_for_edit_figures(self) -> list[str]:
        """In the card's worker: wait, at most :data:`CARD_WAIT_SECONDS`, until no active edit is
        still being computed, saying so once; the names of those still running at the end."""
        worker, deadline, said = get_current_worker(), time.monotonic() + CARD_WAIT_SECONDS, False
        while (pending := self.app.call_from_thread(self.edits_in_progress)) and time.monotonic() < deadline:
            if worker.is_cancelled:
                raise FactormapError("the finding card was cancelled")
            if not said:
                self.app.call_from_thread(self.notify, f"write: waiting for the figures of {', '.join(pending)} "
                                          f"(at most {CARD_WAIT_SECONDS:.0f} s)", timeout=4)
                said = True
            time.sleep(0.1)
        return pending

    def _card_snapshot(self) -> tuple:
        """The screen, its figures, the actions that lead to it and the recording's place (main thread)."""
        recording = self.recorder
        return (self.app.export_screenshot(title=f"factormap: {self.model_path.name} on {self.text_path.name}"),
                self.card_figures(), state_actions(self),
                (str(recording.path), recording.writer.count) if recording is not None else None)

    def write_finding_card(self, path: Path) -> None:
        """Write the card ``path`` (.md), the screen beside it (.svg) and a record that replays to it
        (.jsonl): each file new and whole, or none of them (an existing file is never touched).

        The names are claimed at once; the worker that writes them first waits for the figures of
        edits still being computed (bounded by :data:`CARD_WAIT_SECONDS`), so that the card and
        its screen carry their numbers."""
        md, svg, jsonl = card_paths(path)
        claimed = []
        try:
            for p in (md, svg, jsonl):
                if not reserve_output(p):
                    raise FactormapError(f"{p} exists already; a finding card never writes over a file")
                claimed.append(p)
        except FactormapError as exc:
            for p in claimed:
                release_output(p)
            self.notify(f"write: {exc}", severity="error", timeout=8)
            return
        precision, K = str(self.session.model.dtype), self.query_one("#attribution").K
        model_path, text_path, session = self.model_path, self.text_path, self.session

        def job() -> None:
            try:
                still_running = self._wait_for_edit_figures()
                screen_svg, (position, edits, combined), actions, record_at = \
                    self.app.call_from_thread(self._card_snapshot)
                model, text = file_identity(model_path), file_identity(text_path)
                card_edits = [with_null_percentile(session, edit) for edit in edits]
                header = session_header(model, text, precision=precision, K=K)
                atomic_write_bytes(jsonl, record_bytes(header, actions))
                atomic_write_bytes(svg, screen_svg.encode())
                atomic_write_bytes(md, card_markdown(
                    model=model, text=text, tool_version=tool_version(), precision=precision, position=position,
                    edits=card_edits, combined=combined, svg_name=svg.name, record_name=jsonl.name,
                    record_at=record_at).encode())
            except BaseException:
                for p in (md, svg, jsonl):  # all three names were claimed for this card: none stays half
                    p.unlink(missing_ok=True)
                raise
            late = f"; still computing {', '.join(still_running)}: written without its figures" if still_running else ""
            self.app.call_from_thread(self.notify, f"wrote the finding card {md} (with {svg.name}, {jsonl.name}){late}",
                                      timeout=6)

        self.run_worker(job, thread=True, group="finding-card", exit_on_error=False, name="finding card")


def with_null_percentile(session, edit: CardEdit) -> CardEdit:
    """``edit`` with the percentile of its ΔBPC among its matched null (the engine's, cached per
    model and text) when its row did not show one; unchanged for an edit without a null."""
    null = null_edit_of(edit.key)
    if edit.null_percentile is not None or edit.delta_bpc is None or null is None:
        return edit
    return replace(edit, null_percentile=matched_null(session, null).compare(edit.delta_bpc).percentile)
