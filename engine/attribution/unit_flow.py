"""How one unit carries a prediction back through time: the neuron-targeted view of an attribution.

From an :class:`~factormap.engine.attribution.prediction.Attribution` of the prediction at t, with
``g_k = d ln p_t[target] / d h_{t-k}`` (or the contrast's gradient):

- the unit flow of unit j: ``g_k[j]`` and ``g_k[j] * h_{t-k}[j]`` for k = 0..K;
- the flow map: the ``n`` units with the most gradient energy ``sum_k g_k[j]^2`` (most first, equal
  energies by unit index) and ``|g_k[j]|`` for each of them and each offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.attribution.prediction import Attribution


@dataclass(frozen=True, eq=False)
class UnitFlow:
    """Unit j's share of an attribution, offset by offset.

    Attributes
    ----------
    unit
        j.
    grads
        (K+1,) ``g_k[j]``.
    contributions
        (K+1,) ``g_k[j] * h_{t-k}[j]``.
    """

    unit: int
    grads: np.ndarray
    contributions: np.ndarray


def unit_flow(att: Attribution, unit: int) -> UnitFlow:
    """The :class:`UnitFlow` of ``unit`` (one-sentence error outside 0..H-1)."""
    H = att.grads.shape[1]
    if not 0 <= int(unit) < H:
        raise ValueError(f"unit {unit} does not exist; units are 0..{H - 1}")
    j = int(unit)
    return UnitFlow(j, att.grads[:, j].copy(), att.neuron_attr[:, j].copy())


def flow_map(att: Attribution, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(units, magnitudes)``: the ``n`` units of most energy ``sum_k g_k[j]^2`` (most first, equal
    energies by index) and their ``|g_k[j]|``, shape (n, K+1) (row i is ``units[i]``)."""
    energy = att.energy.astype(np.float64).sum(axis=0)
    units = np.argsort(-energy, kind="stable")[:max(0, int(n))]
    return units, np.abs(att.grads[:, units].T)
