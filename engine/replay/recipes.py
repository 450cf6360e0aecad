"""How a replay rebuilds the edits a session record switched on: one :class:`EditRecipe` per edit.

An ``edit`` action names its research edit by ``key`` (:mod:`factormap.engine.interventions.table`,
the table the app's rows are built from), so :class:`TableEdits` rebuilds its spec; a caller with
edits of its own passes another :data:`EditBuilder`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.factor_map.compute import FactorMap, compute_factor_map
from factormap.engine.interventions.specs import SubtractAtReadout, SubtractEachStep
from factormap.engine.interventions.table import EditContext, research_edit
from factormap.engine.session import Session
from factormap.engine.workbench.nulls import NULL_N, NullEdit, null_edit_of


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
