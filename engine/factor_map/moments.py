"""Streaming float64 sufficient statistics of hidden states and the features read from them.

The factor map needs means, covariances and per-value means over a whole text. These accumulators
take the text in blocks of positions and keep only sums, so memory does not grow with the text:
``StateMoments`` keeps ``sum h`` and ``sum h h^T`` (H + H^2 numbers), ``FeatureMoments`` keeps
``sum f``, ``sum f^2``, ``sum h f`` and, for integer-valued features, a count and a state sum per
distinct value. Sums are taken around a shift (the first block's mean) so that the variance
``E[(h - m)^2] - (E[h] - m)^2`` does not lose digits to cancellation on long texts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from factormap.engine.kernels import read_only
from factormap.engine.kernels.moments import POSITIONS_PER_PASS, chunk_moments_kernel, feature_sums_kernel

#: Conditional means are kept for at most this many distinct values of a feature; past it the
#: feature is treated as continuous (a position index, say) and gets no conditional means.
MAX_COND_VALUES = 4096


def _value_index(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, index)`` with ``f == values[index]`` for integer-valued f: the integers from
    ``min f`` to ``max f`` when there are at most :data:`MAX_COND_VALUES` of them (no sort; some
    may not occur), else the distinct values of f (sorted)."""
    if f.size and f.max() - f.min() < MAX_COND_VALUES:
        low = f.min()
        index = (f - low).astype(np.intp)
        return low + np.arange(index.max() + 1, dtype=np.float64), index
    values, index = np.unique(f, return_inverse=True)
    return values, index.reshape(-1).astype(np.intp, copy=False)


def _sum_features(shape: tuple[int, int], features, add) -> None:
    """Add each ``(FeatureMoments, f)`` of ``features`` over a block of ``shape`` (B, H) states:
    f's own sums, then ``add(g, value_index, cross, value_sums)`` (a kernel over the block, see
    :func:`~factormap.engine.kernels.moments.chunk_moments_kernel`), then what it summed."""
    (B, H), F = shape, len(features)
    g = np.empty((F, B))
    value_index = np.full((F, B), -1, np.intp)
    indexed = []  # (row of the feature's first value, values, index), or None for a continuous f
    rows = 0
    for k, (moments, f) in enumerate(features):
        g[k], values_index = moments._add_own_sums(f)
        indexed.append(None if values_index is None else (rows, *values_index))
        if values_index is not None:
            value_index[k] = values_index[1] + rows
            rows += values_index[0].size
    cross = np.zeros((F, H))
    value_sums = np.zeros((rows, H))
    add(g, value_index, cross, value_sums)
    for k, (moments, _) in enumerate(features):
        moments.cross += cross[k]
        if indexed[k] is not None:
            first, values, index = indexed[k]
            counts = np.bincount(index, minlength=values.size)
            seen = np.flatnonzero(counts)
            moments._add_values(values[seen], counts[seen], value_sums[first:first + values.size][seen])


class StateMoments:
    """Running ``n``, ``sum (h - m)`` and ``sum (h - m)(h - m)^T`` over blocks of states (float64)."""

    def __init__(self, H: int) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.sum = np.zeros(H)
        self._upper = np.zeros((H, H))  # the kernel adds the upper triangle only (the sum is symmetric)

    def add(self, states: np.ndarray) -> np.ndarray:
        """Add a block of states (B, H); returns the block shifted, as float64, for the features."""
        centred = np.empty(np.shape(states))
        self._add(states, centred, ())
        return centred

    def add_with_features(self, states: np.ndarray, features: Sequence[tuple["FeatureMoments", np.ndarray]]) -> None:
        """Add a block of states (B, H) and, to each ``(moments, f)`` of ``features``, f (B,) with
        them: the same sums as :meth:`add` then :meth:`FeatureMoments.add` for each, in one pass
        over the states (no shifted copy of the block is made)."""
        self._add(states, np.empty((POSITIONS_PER_PASS, np.shape(states)[1])), features)

    def _add(self, states: np.ndarray, centred: np.ndarray, features) -> None:
        # float32 and float64 states as they are (a kernel for each), anything else as float64
        dtype = np.float32 if np.asarray(states).dtype == np.float32 else np.float64
        s = read_only(np.ascontiguousarray(states, dtype))
        if self.shift is None:
            self.shift = s.mean(axis=0, dtype=np.float64) if s.shape[0] else np.zeros(s.shape[1])
        _sum_features(s.shape, features, lambda *arrays: chunk_moments_kernel(
            s, self.shift, centred, self.sum, self._upper, *arrays))
        self.n += s.shape[0]

    @property
    def cross(self) -> np.ndarray:
        """``sum (h - m)(h - m)^T`` over the positions added, (H, H)."""
        return np.triu(self._upper) + np.triu(self._upper, 1).T

    def merge(self, other: "StateMoments") -> None:
        """Add the sums of ``other``, taken over other positions around the same ``shift`` (set the
        shift of both before their first block to split one pass into parts)."""
        if not np.array_equal(self.shift, other.shift):
            raise ValueError("moments merge only around the same shift")
        self.n += other.n
        self.sum += other.sum
        self._upper += other._upper

    @property
    def mean(self) -> np.ndarray:
        """``E[h]`` over the positions added."""
        return self.shift + self.sum / self.n

    @property
    def cov(self) -> np.ndarray:
        """Population covariance ``E[(h - E h)(h - E h)^T]`` (divides by n)."""
        d = self.sum / self.n
        return self.cross / self.n - np.outer(d, d)


class FeatureMoments:
    """Running sums of one feature f and of its products with the (shifted) states.

    Attributes
    ----------
    discrete
        True while every value seen is an integer and there are at most
        :data:`MAX_COND_VALUES` distinct ones; only then are per-value sums kept.
    value_counts
        value -> number of positions with that value.
    value_sums
        value -> ``sum (h - m)`` over those positions.
    """

    def __init__(self, H: int) -> None:
        self.n = 0
        self.shift: float | None = None
        self.sum = 0.0
        self.sq = 0.0
        self.cross = np.zeros(H)
        self.discrete = True
        self.value_counts: dict[float, int] = {}
        self.value_sums: dict[float, np.ndarray] = {}

    def add(self, centred_states: np.ndarray, f: np.ndarray) -> None:
        """Add a block: states already shifted by :meth:`StateMoments.add`, and f (B,)."""
        centred_states = np.ascontiguousarray(centred_states, np.float64)
        _sum_features(centred_states.shape, [(self, f)], lambda *arrays: feature_sums_kernel(centred_states, *arrays))

    def _add_own_sums(self, f: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Add f's own sums; return ``g = f - shift`` and, while discrete, ``(values, index)`` of f."""
        f = np.ascontiguousarray(f, np.float64)
        if self.shift is None:
            self.shift = float(f.mean()) if f.size else 0.0
        g = f - self.shift
        self.n += f.size
        self.sum += float(g.sum())
        self.sq += float(g @ g)
        if self.discrete and not np.all(f == np.round(f)):
            self._drop_values()
        return g, (_value_index(f) if self.discrete else None)

    def _add_values(self, values: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> None:
        """Merge a block's per-value counts and state sums into the running ones."""
        for value, count, total in zip(values.tolist(), counts.tolist(), sums):
            if value in self.value_counts:
                self.value_counts[value] += count
                self.value_sums[value] += total
            else:
                self.value_counts[value] = count
                self.value_sums[value] = total.copy()
        if len(self.value_counts) > MAX_COND_VALUES:
            self._drop_values()

    def merge(self, other: "FeatureMoments") -> None:
        """Add the sums of ``other`` (other positions, the same ``shift``, states shifted alike).

        The per-value sums are kept as a single pass over both parts keeps them: while every
        value is an integer and there are at most :data:`MAX_COND_VALUES` distinct ones.
        """
        if self.shift != other.shift:
            raise ValueError("moments merge only around the same shift")
        self.n += other.n
        self.sum += other.sum
        self.sq += other.sq
        self.cross += other.cross
        if not (self.discrete and other.discrete):
            self._drop_values()
        elif other.value_counts:
            values = list(other.value_counts)
            self._add_values(np.array(values), np.array([other.value_counts[v] for v in values]),
                             np.array([other.value_sums[v] for v in values]))

    def _drop_values(self) -> None:
        self.discrete = False
        self.value_counts.clear()
        self.value_sums.clear()

    @property
    def mean(self) -> float:
        """``E[f]``."""
        return self.shift + self.sum / self.n

    @property
    def var(self) -> float:
        """Population variance of f (divides by n)."""
        d = self.sum / self.n
        return self.sq / self.n - d * d

    def cov_with(self, states: StateMoments) -> np.ndarray:
        """``Cov(h, f)`` (H,), population (divides by n)."""
        return self.cross / self.n - (states.sum / states.n) * (self.sum / self.n)
