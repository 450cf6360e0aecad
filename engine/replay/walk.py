"""The replay's walk through a session record's actions, keeping the explorer's state.

See :mod:`factormap.engine.replay` for what each action makes it compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.factor_map.features import FeatureError
from factormap.engine.factor_map.user_features import parse_feature_definition
from factormap.engine.interventions.run import EditedRun, intervention_delta
from factormap.engine.interventions.table import research_edit
from factormap.engine.model import Model
from factormap.engine.replay.figures import edit_figures, feature_figures, position_figures
from factormap.engine.replay.recipes import EditBuilder, EditRecipe, TableEdits
from factormap.engine.session import Session
from factormap.engine.session_record import SessionRecord

NOT_REPLAYED = "not replayed: this version of the engine cannot recompute it"
"""The note of an action whose figures the replay cannot give."""


@dataclass
class ReplayState:
    """The explorer's state as the actions leave it.

    Attributes
    ----------
    t
        the cursor.
    lens
        the text pane's lens.
    neuron
        the selected neuron.
    traces
        the oscilloscope's units.
    mode
        the attribution pane's quantity.
    precision
        the dtype the figures are computed in.
    edits
        row -> the ``edit`` action that switched it on, for the rows that are on.
    features
        the user features' definitions, by name, in the order added.
    target
        the byte whose log-probability the attribution differentiates (-1: ``x_{t+1}``).
    against
        the byte of a contrast ``ln p(target) - ln p(against)``, or None.
    """

    t: int = 0
    lens: str = "surprisal"
    neuron: int = 0
    traces: tuple[int, ...] = ()
    mode: str = "grad_norm"
    precision: str = "float32"
    edits: dict[int, dict] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)
    target: int = -1
    against: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready state."""
        return {"t": self.t, "lens": self.lens, "neuron": self.neuron, "traces": list(self.traces),
                "attribution_mode": self.mode, "precision": self.precision, "features": dict(self.features),
                "contrast": {"target": self.target if self.target >= 0 else None, "against": self.against},
                "edits_on": [{"row": row, "name": self.edit_name(row)} for row in sorted(self.edits)]}

    def edit_name(self, row: int) -> str:
        """The name of the edit on in ``row`` with the neuron selected now: the research table's label
        of its key (``ablate h[88]``; the edit follows the neuron), else the name recorded."""
        action = self.edits[row]
        try:
            label = research_edit(action["key"]).label
        except KeyError:  # a user feature's edit
            label = action["name"]
        return label.replace("{neuron}", str(self.neuron))


@dataclass
class Replay:
    """What a replay computed.

    Attributes
    ----------
    start
        the figures of position 0 before any action.
    steps
        one entry per action replayed: ``i``, ``action``, ``fields`` and ``figures``.
    state
        the state after the last action replayed.
    position
        the figures of the final cursor position.
    edits
        the figures of every edit on at the end, in row order.
    combined_delta_bpc
        ΔBPC of every edit on at the end together (None unless two or more).
    """

    start: dict
    steps: list[dict]
    state: ReplayState
    position: dict
    edits: list[dict]
    combined_delta_bpc: float | None

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {"start": self.start, "steps": self.steps, "final": {
            "state": self.state.to_dict(), "position": self.position, "edits": self.edits,
            "combined_delta_bpc": self.combined_delta_bpc}}


class _Replayer:
    """The running state of one replay (its sessions and edited runs are closed by :meth:`close`)."""

    def __init__(self, model: Model, text: bytes, record: SessionRecord, build_edit: EditBuilder | None) -> None:
        self.model, self.text = model, text
        self.build_edit = build_edit if build_edit is not None else TableEdits()
        self.K = int(record.header["K"])
        self.state = ReplayState(precision=str(record.header.get("precision", "float32")))
        self.session = self._session()
        self.recipes: dict[int, EditRecipe] = {}
        self.runs: dict[int, EditedRun] = {}
        self.figures: dict[int, dict] = {}

    def _session(self) -> Session:
        dtype = np.dtype(self.state.precision)
        return Session(self.model if self.model.dtype == dtype else self.model.astype(dtype), self.text)

    def position(self) -> dict:
        s = self.state
        try:
            return position_figures(self.session, s.t, self.K, self.runs, s.traces, s.target, s.against)
        except ValueError as exc:  # a written-by-hand contrast against the byte it attributes, here
            return position_figures(self.session, s.t, self.K, self.runs, s.traces, s.target) | {
                "note": f"the contrast is not attributed at t = {s.t}: {exc}"}

    def _start_edit(self, row: int) -> dict:
        self._stop_edit(row)
        name = self.state.edit_name(row)
        try:
            recipe = self.build_edit(self.session, self.state.edits[row], self.state.neuron)
        except FactormapError as exc:  # as the app's row says "error: ..." and counts in no total
            self.figures[row] = {"row": row, "name": name, "error": str(exc)}
            return self.figures[row]
        run = EditedRun(self.session, [recipe.spec])
        self.recipes[row], self.runs[row] = recipe, run
        figures = {"row": row, "name": name, **edit_figures(self.session, recipe, run)}
        self.figures[row] = figures
        return figures

    def _stop_edit(self, row: int) -> None:
        run = self.runs.pop(row, None)
        if run is not None:
            run.close()
        self.recipes.pop(row, None)
        self.figures.pop(row, None)

    def combined(self) -> float | None:
        if len(self.recipes) < 2 or len(self.recipes) < len(self.figures):  # a failed edit: no total
            return None
        specs = [self.recipes[row].spec for row in sorted(self.recipes)]
        return intervention_delta(self.session, specs, keep_delta_bits=False).delta_bpc

    def _edit_step(self, started: list[dict]) -> dict:
        figures = {"edits": started, "combined_delta_bpc": self.combined()}
        figures["delta_bits_at_t"] = {str(row): run.delta_at(self.state.t) for row, run in sorted(self.runs.items())}
        return figures

    def apply(self, entry: dict) -> dict:
        """Apply one action; the figures it made the explorer show."""
        action, s = entry["action"], self.state
        if action == "move":
            s.t = max(0, min(self.session.n - 1, entry["t"]))
            return self.position()
        if action == "lens":
            s.lens = entry["lens"]
        elif action == "attribution_mode":
            s.mode = entry["mode"]
        elif action == "traces":
            s.traces = tuple(int(j) for j in entry["neurons"])
            h = self.session.states(s.t, s.t + 1)[0]
            return {"traces": {str(j): float(h[j]) for j in s.traces}}
        elif action == "neuron":
            s.neuron = entry["neuron"]
            again = [row for row, recipe in self.recipes.items() if recipe.follows_neuron]
            if again:
                return self._edit_step([self._start_edit(row) for row in sorted(again)])
        elif action == "edit":
            if entry["on"]:
                s.edits[entry["row"]] = entry
                return self._edit_step([self._start_edit(entry["row"])])
            s.edits.pop(entry["row"], None)
            self._stop_edit(entry["row"])
            return self._edit_step([])
        elif action == "feature":
            try:
                feature = parse_feature_definition(entry["definition"])
                name, values = feature.name, feature.values(self.text)
            except FeatureError as exc:
                return {"note": f"not replayed: {exc}"}
            s.features[name] = entry["definition"]
            if isinstance(self.build_edit, TableEdits):
                self.build_edit.user_features[name] = values
            return {"feature": {"definition": entry["definition"], **feature_figures(self.session, name, values)}}
        elif action == "contrast":
            s.target, s.against = entry["target"], entry.get("against")
            return self.position()
        elif action == "feature_removed":
            s.features.pop(entry["name"], None)
            if isinstance(self.build_edit, TableEdits):
                self.build_edit.user_features.pop(entry["name"], None)
        elif action == "precision":
            s.precision = entry["precision"]
            self.close()
            self.session = self._session()
            started = [self._start_edit(row) for row in sorted(s.edits)]
            return {"position": self.position(), **self._edit_step(started)}
        else:
            return {"note": NOT_REPLAYED}
        return {}

    def close(self) -> None:
        for row in list(self.runs):
            self._stop_edit(row)
        self.session.close()


def replay(model: Model, text: bytes, record: SessionRecord, build_edit: EditBuilder | None = None, *,
           at: int | None = None) -> Replay:
    """Replay the first ``at`` actions of ``record`` (every one when None) on ``model`` and ``text``.

    The caller checks first that the files are the record's
    (:func:`~factormap.engine.session_record.check_inputs`). Figures are computed in the header's
    ``precision`` (a ``precision`` action switches it) with the header's attribution depth ``K``;
    edits are built by ``build_edit`` (default: :class:`TableEdits`).
    """
    actions = record.actions if at is None else record.actions[:max(0, int(at))]
    replayer = _Replayer(model, text, record, build_edit)
    try:
        start = replayer.position()
        steps = [{"i": entry.get("i"), "action": entry["action"],
                  "fields": {k: v for k, v in entry.items() if k not in ("i", "action")},
                  "figures": replayer.apply(entry)} for entry in actions]
        edits = [replayer.figures[row] for row in sorted(replayer.figures)]
        return Replay(start=start, steps=steps, state=replayer.state, position=replayer.position(),
                      edits=edits, combined_delta_bpc=replayer.combined())
    finally:
        replayer.close()
