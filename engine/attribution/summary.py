"""The attribution of every prediction in the text, summarised per offset and per neuron.

Every prediction t = 0..n-2 (of its next byte ``x_{t+1}``) is backpropagated K offsets, exactly as
in :func:`factormap.engine.attribution.attribution`. Offset k exists only for predictions with
t >= k, so each per-offset figure averages over those ``n-1-k`` predictions (the research's
convention: its growth of 2.4x at k = 8 and its |a_k| table average this way; restricting every
offset to t >= K instead gives 2.56x on the reference text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from factormap.engine.attribution.prediction import DEFAULT_K
from factormap.engine.attribution.profiles import OffsetProfiles, offset_profiles
from factormap.engine.config import ATTRIBUTION_NORMS_BUDGET
from factormap.engine.errors import Cancelled
from factormap.engine.session import Session
from factormap.engine.attribution.streamed_median import StreamedMedian

#: Predictions per block: enough for every core to get a long kernel call, while a block's
#: arrays stay small (3 (K+1) + 3 H numbers per prediction).
BLOCK = 16384

#: Neurons counted in the energy share (the research's "top-10 neurons capture 68%").
TOP_N = 10


@dataclass(frozen=True, eq=False)
class AttributionSummary:
    """Offset profile and neuron ranking over all predictions of a text.

    ``g_k(t) = d ln p_t[x_{t+1}] / d h_{t-k}``; ``P_k`` is the set of predictions t with
    k <= t <= n-2, of size ``count[k] = n-1-k``.

    Attributes
    ----------
    K : int
        Deepest offset: ``min(K asked, n-2)``.
    count : ndarray of int, shape (K+1,)
        ``|P_k|``.
    mean_norm : ndarray of float64, shape (K+1,)
        ``mean over P_k of ||g_k(t)||``.
    median_norm : ndarray of float64, shape (K+1,)
        ``median over P_k of ||g_k(t)||``.
    growth_mean : ndarray, shape (K+1,)
        ``mean_norm[k] / mean_norm[0]``: the growth of the mean gradient (the research's 2.4x at k=8);
        NaN where ``mean_norm[0] = 0`` (a readout that ignores the state has no gradient to grow).
    growth_median : ndarray, shape (K+1,)
        ``median_norm[k] / median_norm[0]`` (the growth is heavy-tailed, so the means are led by few t).
    mean_abs_input_attr : ndarray of float64, shape (K+1,)
        ``mean over P_k of |g_k(t) . Wx[:, x_{t-k}]|`` (the research's |a_k|, no tanh').
    mean_abs_input_attr_exact : ndarray of float64, shape (K+1,)
        ``mean over P_k of |((1 - h_{t-k}^2) * g_k(t)) . Wx[:, x_{t-k}]|``.
    top_share_k0 : float
        ``mean over t of (sum of the 10 largest g_{0,j}(t)^2 / sum_j g_{0,j}(t)^2)`` (predictions
        with ``g_0 = 0``, where the share is undefined, are left out).
    energy : ndarray of float64, shape (K+1, H)
        ``sum over P_k of g_{k,j}(t)^2``.
    neuron_energy : ndarray of float64, shape (H,)
        ``sum_k energy[k, j]``: the neuron's gradient energy over all predictions and offsets.
    neurons_by_energy : ndarray of int, shape (H,)
        Neurons ordered by ``neuron_energy``, largest first.
    peak_positions : ndarray of int, shape (K+1,)
        ``argmax over t in P_k of ||g_k(t)||`` (earliest on ties; NaN counts as smallest; -1 when
        no value is finite), as :func:`factormap.engine.factor_map.representatives.offset_peaks` of ``grad_norms``.
    grad_norms : ndarray, shape (K+1, n-1), or None
        ``||g_k(t)||`` per offset and prediction, NaN where k > t (for heat maps). None when it
        would take more than the ``norms_budget`` bytes (long texts; see :func:`attribution_summary`).
    """

    K: int
    count: np.ndarray
    mean_norm: np.ndarray
    median_norm: np.ndarray
    growth_mean: np.ndarray
    growth_median: np.ndarray
    mean_abs_input_attr: np.ndarray
    mean_abs_input_attr_exact: np.ndarray
    top_share_k0: float
    energy: np.ndarray
    neuron_energy: np.ndarray
    neurons_by_energy: np.ndarray
    peak_positions: np.ndarray
    grad_norms: np.ndarray | None

    def to_dict(self, neurons: int = 20) -> dict:
        """JSON-ready figures under keys naming the quantity; the ``neurons`` most energetic listed."""
        total = float(self.neuron_energy.sum())
        return {
            "max_offset": self.K,
            "predictions": int(self.count[0]),
            "offset": list(range(self.K + 1)),
            "count": self.count.tolist(),
            "grad_norm": {"mean": self.mean_norm.tolist(), "median": self.median_norm.tolist()},
            "growth": {"mean_ratio": self.growth_mean.tolist(), "median_ratio": self.growth_median.tolist()},
            "input_attr": {"mean_abs": self.mean_abs_input_attr.tolist()},
            "input_attr_exact": {"mean_abs": self.mean_abs_input_attr_exact.tolist()},
            "energy": {"top10_share_k0": self.top_share_k0},
            "neurons": {"by_energy": [
                {"neuron": int(j), "energy": float(self.neuron_energy[j]),
                 "share": float(self.neuron_energy[j]) / total if total > 0 else None}
                for j in self.neurons_by_energy[:neurons]
            ]},
        }


def _blocks(session: Session, K: int, progress: Callable[[float], None] | None,
            should_stop: Callable[[], bool] | None) -> Iterator[OffsetProfiles]:
    """The offset profiles of every block of predictions, in order; progress after each block."""
    total = session.n - 1
    for start in range(0, total, BLOCK):
        if should_stop is not None and should_stop():
            raise Cancelled("attribution summary stopped")
        stop = min(total, start + BLOCK)
        yield offset_profiles(session, start, stop, K, TOP_N)
        if progress is not None:
            progress(stop / total)


def _present(block: OffsetProfiles) -> np.ndarray:
    """(K+1, block size) bool: offset k exists for the prediction t (k <= t)."""
    return np.arange(block.start, block.stop)[None, :] >= np.arange(block.K + 1)[:, None]


def _growth(norms: np.ndarray) -> np.ndarray:
    """``norms[k] / norms[0]``, NaN when ``norms[0]`` is 0 or not finite (a gradient beyond the float range)."""
    if norms[0] == 0 or not np.isfinite(norms[0]):
        return np.full(norms.shape, np.nan)
    with np.errstate(over="ignore"):
        return norms / norms[0]


def attribution_summary(session: Session, K: int = DEFAULT_K,
                        progress: Callable[[float], None] | None = None,
                        should_stop: Callable[[], bool] | None = None, *,
                        norms_budget: int | None = None) -> AttributionSummary:
    """Backpropagate every prediction of the text K offsets and summarise (see the class docs).

    Streams blocks of :data:`BLOCK` predictions through
    :func:`factormap.engine.attribution.profiles.offset_profiles`, reusing the session's states.
    When every ``||g_k(t)||`` fits in ``norms_budget`` bytes, they are kept (``grad_norms``) and the
    medians taken from them. Otherwise ``grad_norms`` is None, the means are float64 sums over the
    blocks and the medians are streamed (:class:`factormap.engine.attribution.streamed_median.StreamedMedian`):
    the pass keeps at most ``norms_budget`` bytes of the norms near each offset's median, which
    usually holds the exact median; when it does not, a second pass recomputes every block.

    Parameters
    ----------
    session : Session
    K : int
        Deepest offset (cut to n-2).
    progress : callable, optional
        Called with the fraction of the work done after each block (with streamed medians, the
        first pass ends at 0.5, and the second pass runs from there or is skipped, to 1).
    should_stop : callable, optional
        Checked before each block; when it returns true, :class:`Cancelled` is raised.
    norms_budget : int, optional
        Bytes ``grad_norms`` ((K+1)(n-1) values of the model's dtype) may take; default
        :data:`factormap.engine.config.ATTRIBUTION_NORMS_BUDGET`.

    Raises
    ------
    Cancelled
        When ``should_stop()`` returned true.
    """
    if int(K) < 0:
        raise ValueError(f"K must be 0 or more, got {K}")
    total = session.n - 1
    K = min(int(K), total - 1)
    dtype = session.model.dtype
    budget = ATTRIBUTION_NORMS_BUDGET if norms_budget is None else int(norms_budget)
    keep_norms = (K + 1) * total * np.dtype(dtype).itemsize <= budget
    norms = np.empty((K + 1, total), dtype) if keep_norms else None
    median = None if keep_norms else StreamedMedian(K + 1, keep_budget=budget)
    passes = 1 if keep_norms else 2
    norm_sum = np.zeros(K + 1)
    peak = np.full(K + 1, -np.inf)
    peak_positions = np.full(K + 1, -1, np.int64)
    finite = np.zeros(K + 1, bool)
    abs_attr = np.zeros((2, K + 1))
    energy = np.zeros((K + 1, session.H))
    share_sum, share_count = 0.0, 0
    first = None if progress is None else (lambda f: progress(f / passes))
    for block in _blocks(session, K, first, should_stop):
        g = block.grad_norms
        if keep_norms:
            norms[:, block.start:block.stop] = g
        else:
            present = _present(block)
            norm_sum += np.where(present, g, 0).sum(axis=1, dtype=np.float64)
            median.count(g, present)
        filled = np.where(np.isnan(g), -np.inf, g)
        at = np.argmax(filled, axis=1)
        best = filled[np.arange(K + 1), at]
        better = best > peak
        peak[better], peak_positions[better] = best[better], block.start + at[better]
        finite |= np.isfinite(filled).any(axis=1)
        abs_attr[0] += np.nansum(np.abs(block.input_attr), axis=1)
        abs_attr[1] += np.nansum(np.abs(block.input_attr_exact), axis=1)
        energy += block.energy
        share_sum += float(np.nansum(block.top_share, dtype=np.float64))
        share_count += int(np.count_nonzero(~np.isnan(block.top_share)))
    peak_positions[~finite] = -1
    count = total - np.arange(K + 1)
    if keep_norms:
        mean_norm = np.array([np.mean(norms[k, k:], dtype=np.float64) for k in range(K + 1)])
        median_norm = np.array([np.median(norms[k, k:]) for k in range(K + 1)], dtype=np.float64)
    else:
        if median.resolved():
            if progress is not None:
                progress(1.0)
        else:
            second = None if progress is None else (lambda f: progress(0.5 + f / 2))
            for block in _blocks(session, K, second, should_stop):
                median.keep(block.grad_norms, _present(block))
        mean_norm = norm_sum / count
        median_norm = median.medians(dtype)
    neuron_energy = energy.sum(axis=0)
    return AttributionSummary(
        K=K, count=count, mean_norm=mean_norm, median_norm=median_norm,
        growth_mean=_growth(mean_norm), growth_median=_growth(median_norm),
        mean_abs_input_attr=abs_attr[0] / count, mean_abs_input_attr_exact=abs_attr[1] / count,
        top_share_k0=share_sum / max(share_count, 1), energy=energy, neuron_energy=neuron_energy,
        neurons_by_energy=np.argsort(-neuron_energy, kind="stable"), peak_positions=peak_positions,
        grad_norms=norms,
    )
