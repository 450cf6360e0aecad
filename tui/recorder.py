"""The app's side of session records: writing the explorer's state changes, and applying them back.

:class:`SessionRecorder` is what ``factormap-tui --record FILE`` and ``:record FILE`` start: it
writes the record's header (:func:`factormap.engine.session_record.session_header`), then the
state the explorer is in (so a record started mid-session replays to the same place), then one
line per state change the screen reports through ``ExplorerScreen.record``.
:func:`apply_action` is the other direction, for ``factormap-tui replay --open``.
"""

from __future__ import annotations

from pathlib import Path

from factormap.engine.session_record import RecordWriter, file_identity, session_header
from factormap.engine.workbench.nulls import NULL_N
from factormap.tui.widgets.intervention_rows import BAND_RUNS, ROWS


class SessionRecorder:
    """Writes one session record.

    Args:
        path: the record to create (never an existing file).
        model_path: the model file the session explores.
        text_path: the text file.
        precision: the dtype the explorer computes in.
        K: the attribution pane's deepest offset.

    Raises:
        RecordError: the file exists or cannot be created (one sentence).
    """

    def __init__(self, path: str | Path, model_path: Path, text_path: Path, precision: str, K: int) -> None:
        header = session_header(file_identity(model_path), file_identity(text_path), precision=precision, K=K)
        self.writer = RecordWriter(path, header)
        self.path = self.writer.path
        """The record's path."""

    def record(self, action: str, **fields) -> dict:
        """Append one action; the entry as written."""
        return self.writer.write(action, **fields)

    def close(self) -> None:
        """Close the record."""
        self.writer.close()


def edit_fields(row: int, on: bool, neuron: int, rows=ROWS) -> dict:
    """The fields of the ``edit`` action of switching row ``row`` of the interventions pane ``on``, with
    the band's re-runs and the null's directions the row computes (so a replay computes the same).
    ``name`` is the row's label with the selected ``neuron`` filled in (``ablate h[88]``)."""
    edit = rows[row].edit  # rows: the pane's row definitions (user features' rows at the end)
    return {"row": row, "key": edit.key, "name": edit.label.replace("{neuron}", str(neuron)), "on": on,
            "band_runs": BAND_RUNS, "null_n": NULL_N}


def contrast_fields(pane) -> dict:
    """The fields of the ``contrast`` action of the attribution pane's quantity: ``target`` its byte a
    (-1: the next byte), with ``against`` the byte b of ``ln p(a) − ln p(b)`` when there is one.

    Args:
        pane: the attribution pane.
    """
    return {"target": -1 if pane.target is None else pane.target} | (
        {} if pane.contrast is None else {"against": pane.contrast})


def state_actions(screen) -> list[tuple[str, dict]]:
    """The actions that bring a fresh explorer to ``screen``'s state, in an order that replays to it
    (user features first, the neuron before the edits built from it, the cursor last)."""
    scope = screen.query_one("#oscilloscope")
    pane = screen.query_one("#interventions")
    actions = [("feature", {"name": f.name, "definition": f.definition}) for f in getattr(screen, "user_features", ())]
    actions += [("traces", {"neurons": list(scope.neurons)}), ("neuron", {"neuron": screen.neuron}),
                ("lens", {"lens": screen.lens}), ("attribution_mode", {"mode": screen.query_one("#attribution").mode})]
    if screen.query_one("#attribution").target is not None:
        actions.append(("contrast", contrast_fields(screen.query_one("#attribution"))))
    actions += [("edit", edit_fields(i, True, screen.neuron, pane.row_defs)) for i, row in enumerate(pane.rows) if row.on]
    actions.append(("move", {"t": screen.cursor}))
    return actions


def apply_action(screen, entry: dict) -> str | None:
    """Bring ``screen`` to the state after the recorded action ``entry``; a one-line summary of it,
    or None when it cannot apply yet (the row of an edit along a user feature still being computed)."""
    action = entry["action"]
    if action == "move":
        screen.move_to(entry["t"])
        return f"move to t={screen.cursor:,}"
    if action == "lens":
        screen.lens = entry["lens"]
    elif action == "neuron":
        screen.neuron = entry["neuron"] % screen.session.H
    elif action == "traces":
        screen.query_one("#oscilloscope").set_default_neurons([int(j) for j in entry["neurons"]], "replayed units")
    elif action == "attribution_mode":
        pane = screen.query_one("#attribution")
        pane.mode = entry["mode"]
        if screen.attribution is not None:
            screen.show_heat(screen.attribution)
    elif action == "edit":
        pane = screen.query_one("#interventions")
        if entry["row"] >= len(pane.rows):  # a user feature's row, before its readout exists
            return None
        if pane.rows[entry["row"]].on != entry["on"]:
            pane.toggle(entry["row"])
        return f"edit {entry['row'] + 1} ({entry['name']}) {'on' if entry['on'] else 'off'}"
    elif action == "contrast":
        target, against = entry["target"], entry.get("against")
        try:
            screen.query_one("#attribution").set_target(None if target < 0 else target, against)
        except ValueError as exc:  # a record written by hand: a contrast without a target
            return f"contrast: not replayed ({exc})"
    elif action == "feature" and hasattr(screen, "add_user_feature"):
        screen.add_user_feature(entry["definition"])
    elif action == "feature_removed" and hasattr(screen, "remove_user_feature"):
        screen.remove_user_feature(entry["name"])
    else:
        return f"{action}: not replayed in the app"
    fields = " ".join(f"{k}={v}" for k, v in entry.items() if k not in ("i", "action"))
    return f"{action} {fields}"
