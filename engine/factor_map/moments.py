"""Streaming float64 sufficient statistics of hidden states and the features read from them.

The factor map needs means, covariances and per-value means over a whole text. These accumulators
take the text in blocks of positions and keep only sums, so memory does not grow with the text:
``StateMoments`` keeps ``sum h`` and ``sum h h^T`` (H + H^2 numbers), ``FeatureMoments`` keeps
``sum f``, ``sum f^2``, ``sum h f`` and, for integer-valued features, a count and a state sum per
distinct value. Sums are taken around a shift (the first block's mean) so that the variance
``E[(h - m)^2] - (E[h] - m)^2`` does not lose digits to cancellation on long texts.
"""

from __future__ import annotations

import numpy as np

from factormap.engine.kernels import read_only
from factormap.engine.kernels.moments import feature_sums_kernel, state_moments_kernel

#: Conditional means are kept for at most this many distinct values of a feature; past it the
#: feature is treated as continuous (a position index, say) and gets no conditional means.
MAX_COND_VALUES = 4096


class StateMoments:
    """Running ``n``, ``sum (h - m)`` and ``sum (h - m)(h - m)^T`` over blocks of states (float64)."""

    def __init__(self, H: int) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.sum = np.zeros(H)
        self._upper = np.zeros((H, H))  # the kernel adds the upper triangle only (the sum is symmetric)

    def add(self, states: np.ndarray) -> np.ndarray:
        """Add a block of states (B, H); returns the block shifted, as float64, for the features."""
        s = read_only(np.ascontiguousarray(states, np.float64))  # one array type: one compiled kernel
        if self.shift is None:
            self.shift = s.mean(axis=0) if s.shape[0] else np.zeros(s.shape[1])
        centred = np.empty(s.shape)
        state_moments_kernel(s, self.shift, centred, self.sum, self._upper)
        self.n += s.shape[0]
        return centred

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
        f = np.ascontiguousarray(f, np.float64)
        if self.shift is None:
            self.shift = float(f.mean()) if f.size else 0.0
        g = f - self.shift
        self.n += f.size
        self.sum += float(g.sum())
        self.sq += float(g @ g)
        if self.discrete and not np.all(f == np.round(f)):
            self._drop_values()
        if not self.discrete:
            feature_sums_kernel(centred_states, g, np.zeros(0, np.intp), self.cross, np.zeros((0, self.cross.size)))
            return
        values, index = np.unique(f, return_inverse=True)
        sums = np.zeros((values.size, self.cross.size))
        feature_sums_kernel(centred_states, g, index.reshape(-1).astype(np.intp, copy=False), self.cross, sums)
        self._add_values(values, np.bincount(index.reshape(-1), minlength=values.size), sums)

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
