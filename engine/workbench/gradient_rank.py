"""A probe's rank among the hidden units by gradient energy: how much of the prediction flows back
through it.

Over S predictions t_s evenly spaced in 0..n-2 (all of them when n-1 <= S), with
``g_k(t) = d ln p_t[x_{t+1}] / d h_{t-k}`` (exact BPTT, :func:`factormap.engine.attribution.attribution`)
for k = 0..K:

- the energy of unit j is ``E_j = mean_s sum_k g_k(t_s)[j]^2``;
- the energy of the probe u is ``E_u = mean_s sum_k (g_k(t_s) . u)^2`` (``E_{e_j} = E_j``);
- its rank is ``1 + #{j : E_j > E_u}``: 1 when no unit carries more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.attribution.prediction import DEFAULT_K, attribution
from factormap.engine.errors import Cancelled, ModelError
from factormap.engine.workbench.probe import Probe

#: Predictions sampled by default.
DEFAULT_SAMPLES = 256


@dataclass(frozen=True)
class GradientRank:
    """The probe's gradient energy against every unit's (see the module).

    Attributes
    ----------
    rank
        ``1 + #{j : E_j > E_u}``, 1..H+1.
    energy
        ``E_u``.
    unit_energy
        (H,) ``E_j``.
    samples
        S, the predictions averaged.
    K
        deepest offset summed (cut to t for predictions near the start).
    """

    rank: int
    energy: float
    unit_energy: np.ndarray
    samples: int
    K: int

    def to_dict(self) -> dict:
        """JSON-ready figures, nested: ``{"rank", "value", "units", "samples", "max_offset"}``."""
        return {"rank": self.rank, "value": self.energy, "units": int(self.unit_energy.size),
                "samples": self.samples, "max_offset": self.K}


def sampled_predictions(n: int, samples: int) -> np.ndarray:
    """S positions evenly spaced in 0..n-2 (distinct, ascending; all of them when n-1 <= S)."""
    if n < 2:
        return np.empty(0, np.int64)
    return np.unique(np.linspace(0, n - 2, min(samples, n - 1)).round().astype(np.int64))


def gradient_rank(session, probe: Probe, *, samples: int = DEFAULT_SAMPLES, K: int = DEFAULT_K,
                  progress: Callable[[float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> GradientRank:
    """The :class:`GradientRank` of ``probe`` over S sampled predictions of the session's text.

    Raises
    ------
    ValueError
        A text of fewer than two bytes (no prediction has a next byte).
    ModelError
        A sampled prediction's gradients overflow the model's dtype (inf or NaN: weights near its largest).
    Cancelled
        ``should_stop()`` returned true.
    """
    positions = sampled_predictions(session.n, samples)
    if positions.size == 0:
        raise ValueError("the text has no prediction with a next byte")
    unit_energy = np.zeros(session.H)
    energy = 0.0
    for i, t in enumerate(positions):
        if should_stop is not None and should_stop():
            raise Cancelled("gradient rank cancelled")
        g = attribution(session, int(t), K).grads.astype(np.float64)
        sample_energy = np.einsum("kj,kj->j", g, g)
        if not math.isfinite(sample_energy.sum()):  # inf or NaN gradients: no energy, and g @ u would warn
            raise ModelError(f"{session.model.source}: the gradients of the prediction at t = {t} overflow "
                             f"{session.model.dtype} (inf or NaN); the weights are too large for a gradient energy")
        unit_energy += sample_energy
        energy += float(np.sum((g @ probe.direction) ** 2))
        if progress is not None:
            progress((i + 1) / positions.size)
    unit_energy /= positions.size
    # A neuron's own column, not the same sum in another order: its rank must not hang on a rounding.
    energy = float(unit_energy[probe.neuron]) if probe.neuron is not None else energy / positions.size
    return GradientRank(rank=1 + int(np.count_nonzero(unit_energy > energy)), energy=energy,
                        unit_energy=unit_energy, samples=int(positions.size), K=int(K))
