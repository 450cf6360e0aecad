"""Representative positions: where in the text a neuron, a feature value or an offset shows best.

Positions are indices t of the text; ``h_t`` is the state after reading ``x_t`` and the prediction
made at t is of ``x_{t+1}``. Ties go to the earliest position. These are the positions the
dashboard jumps to from a chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.stream import FeatureStream

#: Positions per block when a feature is streamed.
_BLOCK = 1 << 16


@dataclass(frozen=True, eq=False)
class NeuronPeaks:
    """Where each neuron is most active.

    Attributes
    ----------
    position : ndarray of int, shape (H,)
        ``argmax_t |h_t[j]|`` over t = 0..n-1 (earliest on ties): neuron j's representative.
    activation : ndarray of float64, shape (H,)
        ``h_t[j]`` at that position (signed).
    """

    position: np.ndarray
    activation: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready: ``position[j]`` and ``activation[j]`` per neuron j."""
        return {"position": self.position.tolist(), "activation": self.activation.tolist()}


def neuron_peaks(session, progress: Callable[[float], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> NeuronPeaks:
    """The :class:`NeuronPeaks` of ``session``, reading its exact states chunk by chunk.

    Parameters
    ----------
    session : Session
    progress : callable, optional
        Called with the fraction of positions read after each chunk.
    should_stop : callable, optional
        Polled before each chunk; when true, :class:`Cancelled` is raised.

    Raises
    ------
    Cancelled
        When ``should_stop()`` returned true.
    """
    n, H = session.n, session.H
    best = np.full(H, -1.0)
    position = np.zeros(H, np.int64)
    activation = np.zeros(H)
    for t0 in range(0, n, session.chunk):
        if should_stop is not None and should_stop():
            raise Cancelled("neuron peaks stopped")
        t1 = min(n, t0 + session.chunk)
        states = np.asarray(session.states(t0, t1), np.float64)
        rows = np.argmax(np.abs(states), axis=0)
        peak = np.abs(states[rows, np.arange(H)])
        better = peak > best
        best[better] = peak[better]
        position[better] = t0 + rows[better]
        activation[better] = states[rows, np.arange(H)][better]
        if progress is not None:
            progress(t1 / n)
    return NeuronPeaks(position=position, activation=activation)


def first_occurrences(feature: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each value v, the first position t with ``feature[t] == v`` (-1 when there is none).

    The representative of a feature value (e.g. a word length k): its first occurrence.
    """
    return _first_in_blocks([(0, np.asarray(feature))], values)


def first_occurrences_of_feature(x, name: str, values: np.ndarray) -> np.ndarray:
    """:func:`first_occurrences` of the standard feature ``name`` of the text ``x``, with the feature
    streamed block by block (:class:`~factormap.engine.factor_map.stream.FeatureStream`), stopping
    once every value is found: no whole-text array."""
    blocks = ((t0, block[name]) for t0, _, block in FeatureStream(x, (name,), _BLOCK).chunks())
    return _first_in_blocks(blocks, values)


def _first_in_blocks(blocks, values: np.ndarray) -> np.ndarray:
    """:func:`first_occurrences` over ``(t0, block)`` pieces of the feature, in position order."""
    wanted = np.asarray(values).tolist()
    out = np.full(len(wanted), -1, np.int64)
    missing = set(range(len(wanted)))
    for t0, block in blocks:
        if not missing:
            break
        for i in sorted(missing):
            hits = np.flatnonzero(block == wanted[i])
            if hits.size:
                out[i] = t0 + hits[0]
                missing.discard(i)
    return out


def offset_peaks(grad_norms: np.ndarray) -> np.ndarray:
    """For each offset k, the prediction t with the largest ``||g_k(t)||`` (-1 when all are NaN).

    ``grad_norms`` is (K+1, n-1), NaN where k > t, as in
    :class:`factormap.engine.attribution.summary.AttributionSummary`. The representative of offset k
    is the prediction whose gradient reaches furthest back with the most weight.
    """
    grad_norms = np.asarray(grad_norms, np.float64)
    filled = np.where(np.isnan(grad_norms), -np.inf, grad_norms)
    out = np.argmax(filled, axis=1).astype(np.int64)
    out[~np.isfinite(filled).any(axis=1)] = -1
    return out
