"""The figures a replay computes: those the explorer showed for a position, an edit, a user feature.

Figures are plain JSON-ready data.
"""

from __future__ import annotations

import math

import numpy as np

from factormap.engine.attribution.prediction import attribution
from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.interventions.analysis import residual_readout, sensitivity_band
from factormap.engine.interventions.run import EditedRun
from factormap.engine.replay.recipes import EditRecipe
from factormap.engine.session import Session
from factormap.engine.workbench.nulls import matched_null

TOP_NEURONS = 5
"""Units listed by their share of the attribution's gradient energy (as the attribution pane does)."""
NULL_UNAVAILABLE = "null: not available (not an edit along a direction)"
"""What the null percentile of an edit without a matched null (ablations, weight edits, the
random-direction control itself) says."""


def position_figures(session: Session, t: int, K: int, runs: dict[int, EditedRun], traces=(),
                     target: int = -1, against: int | None = None) -> dict:
    """The figures of position ``t``: the explorer's status line, attribution pane and Δbits column.

    ``bits`` is ``-log2 p_t(x_{t+1})`` of the whole-text pass, the status line's figure (None at the
    last byte); ``attribution`` is :meth:`Attribution.to_dict` of ``ln p_t(target)`` (``target`` -1:
    ``x_{t+1}``, None at the last byte), or of ``ln p_t(target) - ln p_t(against)`` with a byte
    ``against``, with offsets 0..K, without its own ``bits`` when the target
    is ``x_{t+1}`` (that is the same prediction's ``bits``, recomputed by the attribution's forward
    pass, so the two would differ in rounding only), plus
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
        att = attribution(session, t, K, None if target < 0 else target, contrast=against)
        energy = att.energy.sum(axis=0)
        total = float(energy.sum())
        figures["attribution"] = att.to_dict() | {"top_neurons_by_energy": [
            {"neuron": int(j), "share": float(energy[j]) / total if total > 0 else math.nan}
            for j in att.top_neurons(TOP_NEURONS)]}
        if target < 0:
            del figures["attribution"]["bits"]
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
