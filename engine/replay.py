"""Replaying a session record headless: every figure the explorer showed, recomputed by the engine.

:func:`replay` walks the actions of a :class:`~factormap.engine.session_record.SessionRecord` in
order, keeping the explorer's state (cursor, lens, selected neuron, traces, active edits), and
computes, after each action, the figures that action made the explorer show:

- at the start and after each ``move``: the figures of the position (:func:`position_figures`);
- after an ``edit`` switched on (and after a ``neuron`` change, for edits of the selected neuron):
  the edit's figures (:func:`edit_figures`), and the combined ΔBPC when several are on;
- after ``traces``: the traced units' states at the cursor;
- after ``feature``: the user feature's factor-map readout (:func:`feature_figures`).

An ``edit`` names its research edit by ``key`` (:mod:`...interventions.table`, the table the app's
rows are built from), so :class:`TableEdits` rebuilds its spec; a caller with edits of its own passes
another :data:`EditBuilder`. Figures are plain JSON-ready data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from factormap.engine.attribution.prediction import attribution
from factormap.engine.errors import FactormapError
from factormap.engine.factor_map.compute import FactorMap, compute_factor_map
from factormap.engine.factor_map.features import FeatureError
from factormap.engine.factor_map.user_features import parse_feature_definition
from factormap.engine.interventions.analysis import residual_readout, sensitivity_band
from factormap.engine.interventions.run import EditedRun, intervention_delta
from factormap.engine.interventions.specs import SubtractAtReadout, SubtractEachStep
from factormap.engine.interventions.table import EditContext, research_edit
from factormap.engine.model import Model
from factormap.engine.session import Session
from factormap.engine.session_record import SessionRecord
from factormap.engine.workbench.nulls import NULL_N, NullEdit, matched_null, null_edit_of

TOP_NEURONS = 5
"""Units listed by their share of the attribution's gradient energy (as the attribution pane does)."""
NULL_UNAVAILABLE = "null: not available (not an edit along a direction)"
"""What the null percentile of an edit without a matched null (ablations, weight edits, the
random-direction control itself) says."""
NOT_REPLAYED = "not replayed: this version of the engine cannot recompute it"
"""The note of an action whose figures the replay cannot give."""


@dataclass(frozen=True)
class EditRecipe:
    """How to recompute one switched-on edit, as the app's row computed it.

    Attributes
    ----------
    spec
        the engine spec the row switches on.
    band_runs
        nudged re-runs of the sensitivity band (edits that feed the recurrence only; 0: none).
    residual_of
        a standard feature refitted on the edited states (the residual readout), or "".
    follows_neuron
        True when the spec is built from the selected neuron (rebuilt when it changes).
    null
        the edit applied to random directions for its matched null (None: it has none).
    null_n
        random directions in the null.
    """

    spec: object
    band_runs: int = 0
    residual_of: str = ""
    follows_neuron: bool = False
    null: NullEdit | None = None
    null_n: int = NULL_N


EditBuilder = Callable[[Session, dict, int], EditRecipe]
"""``build_edit(session, edit_action, selected_neuron) -> EditRecipe``."""


USER_FEATURE_EDITS = {"subtract_each_step": SubtractEachStep, "subtract_at_readout": SubtractAtReadout}
"""The edits the app offers along a user feature's covariance direction ``u_NAME`` (keys
``subtract_each_step.NAME`` and ``subtract_at_readout.NAME``)."""


class TableEdits:
    """Builds the research's edits by their ``key`` as the app's rows do, and the edits of a user
    feature's direction; the factor map the feature edits need is computed once per session, on
    first need.

    Attributes
    ----------
    user_features
        name -> (n,) values of the user features defined so far (the replay keeps it).
    """

    def __init__(self) -> None:
        self._factor_maps: dict[int, tuple[Session, FactorMap]] = {}
        self.user_features: dict[str, np.ndarray] = {}

    def factor_map(self, session: Session) -> FactorMap:
        """The factor map of ``session`` (remembered)."""
        known = self._factor_maps.get(id(session))
        if known is None or known[0] is not session:
            known = self._factor_maps[id(session)] = (session, compute_factor_map(session))
        return known[1]

    def __call__(self, session: Session, action: dict, neuron: int) -> EditRecipe:
        """The recipe of the edit ``action["key"]`` with the selected ``neuron``."""
        kind, _, name = action["key"].partition(".")
        if kind in USER_FEATURE_EDITS and name in self.user_features:
            readout = compute_factor_map(session, {name: self.user_features[name]}).readouts[name]
            return EditRecipe(USER_FEATURE_EDITS[kind](readout.cov_direction, f"u_{name}"),
                              band_runs=int(action.get("band_runs", 0)), null=null_edit_of(action["key"]),
                              null_n=int(action.get("null_n", NULL_N)))
        try:
            edit = research_edit(action["key"])
        except KeyError:
            raise FactormapError(f"the edit {action['key']!r} is neither one of this engine's research edits "
                                 "nor one of a user feature defined before it, so it cannot be replayed.") from None
        factor_map = self.factor_map(session) if edit.feature else None
        return EditRecipe(edit.build(EditContext(session, factor_map, neuron)),
                          band_runs=int(action.get("band_runs", 0)), residual_of=edit.residual_of,
                          follows_neuron="{neuron}" in edit.label, null=null_edit_of(edit.key),
                          null_n=int(action.get("null_n", NULL_N)))


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
                "contrast": {"target": self.target, "against": self.against},
                "edits_on": [{"row": row, "name": a["name"]} for row, a in sorted(self.edits.items())]}


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


def position_figures(session: Session, t: int, K: int, runs: dict[int, EditedRun], traces=(),
                     target: int = -1) -> dict:
    """The figures of position ``t``: the explorer's status line, attribution pane and Δbits column.

    ``bits`` is ``-log2 p_t(x_{t+1})`` (None at the last byte); ``attribution`` is
    :meth:`Attribution.to_dict` of ``ln p_t(target)`` (``target`` -1: ``x_{t+1}``, None at the
    last byte) with offsets 0..K, plus
    ``top_neurons_by_energy``: the :data:`TOP_NEURONS` units with the largest ``sum_k g_{k,j}^2``
    and their ``share`` of ``sum_{k,j} g_{k,j}^2`` (None at the last byte); ``delta_bits_at_t``:
    row -> ``bits'_t - bits_t`` under that edit alone; ``traces``: unit -> ``h_t[unit]``.
    """
    last = t >= session.n - 1
    figures = {"t": t, "byte": int(session.x[t]),
               "bits": None if last else float(session.bits_range(t, t + 1)[0])}
    if last and target < 0:
        figures["attribution"] = None
    else:
        att = attribution(session, t, K, None if target < 0 else target)
        energy = att.energy.sum(axis=0)
        total = float(energy.sum())
        figures["attribution"] = att.to_dict() | {"top_neurons_by_energy": [
            {"neuron": int(j), "share": float(energy[j]) / total if total > 0 else math.nan}
            for j in att.top_neurons(TOP_NEURONS)]}
    figures["delta_bits_at_t"] = {str(row): run.delta_at(t) for row, run in sorted(runs.items())}
    if traces:
        h = session.states(t, t + 1)[0]
        figures["traces"] = {str(j): float(h[j]) for j in traces}
    return figures


def edit_figures(session: Session, recipe: EditRecipe, run: EditedRun) -> dict:
    """The figures of one edit: those of its row in the interventions pane.

    ``delta_bpc`` is the whole-text mean of ``bits'_t - bits_t``; ``band`` the ``min``, ``max``,
    ``eps`` and ``n`` of the :class:`~factormap.engine.interventions.analysis.Band` of ``band_runs``
    nudged re-runs (None for edits that do not feed the recurrence); ``residual``: ``r`` of the
    ``feature`` refitted on the edited states (edits with a ``residual_of``); ``null``: ΔBPC against
    the edit's matched null of ``null_n`` random directions
    (:class:`~factormap.engine.workbench.nulls.NullComparison`: ``percentile``, ``z``,
    ``null_mean``, ``null_sd``), whose ``percentile`` is also ``null_percentile`` (None, with
    ``null_note``, for an edit without a null).
    """
    result = run.result()
    figures = {"describe": recipe.spec.describe(), **result.to_dict(), "band": None}
    if recipe.band_runs and run.plan.feeds_recurrence:
        band = sensitivity_band(session, [recipe.spec], n=recipe.band_runs, value=result.delta_bpc)
        figures["band"] = {"min": band.min, "max": band.max, "eps": band.eps, "n": int(band.nudged.size)}
    if recipe.residual_of:
        residual = residual_readout(session, [recipe.spec], recipe.residual_of, recipe.residual_of)
        figures["residual"] = {"feature": recipe.residual_of, "r": residual.r}
    if recipe.null is None:
        figures.update(null=None, null_percentile=None, null_note=NULL_UNAVAILABLE)
    else:
        comparison = matched_null(session, recipe.null, recipe.null_n).compare(result.delta_bpc)
        figures.update(null=comparison.to_dict(), null_percentile=comparison.percentile)
    return figures


def feature_figures(session: Session, name: str, values: np.ndarray) -> dict:
    """The factor-map entry of a user feature f: ``best_neuron`` ``argmax_j |r(h_j, f)|`` and its
    ``best_r``; ``cov_r`` = ``r(h . u_f, f)`` along ``u_f = Cov(h, f)/||Cov(h, f)||``; ``ols_r``, the
    multiple correlation of the least-squares readout (see
    :class:`~factormap.engine.factor_map.readout.FeatureReadout`)."""
    readout = compute_factor_map(session, features={name: values}).readouts[name]
    return {"name": name, "best_neuron": readout.best_neuron, "best_r": readout.best_r, "cov_r": readout.cov_r,
            "ols_r": readout.ols_r}


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
        figures = position_figures(self.session, s.t, self.K, self.runs, s.traces, s.target)
        if s.against is not None:
            figures["attribution"] = None
            figures["note"] = f"contrast against byte {s.against}: {NOT_REPLAYED}"
        return figures

    def _start_edit(self, row: int) -> dict:
        self._stop_edit(row)
        name = self.state.edits[row]["name"]
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
