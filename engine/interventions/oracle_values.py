"""A fitted write-in oracle's values, computed range by range from the feature instead of stored.

An oracle writes ``values[t] = g(f_t)`` at every position: g is the fitted map (:class:`OracleMap`)
and f the feature (a :class:`~factormap.engine.factor_map.stream.FeatureColumn`). :class:`OracleValues`
applies g to the range of f a chunk of the edited run asks for, so an oracle on a long text holds
a few numbers per distinct feature value, not 8 bytes per position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.factor_map.stream import FeatureColumn

VARIANTS = ("linear", "conditional_mean")


@dataclass(frozen=True, eq=False)
class OracleMap:
    """The map from a feature's value to the value the oracle writes.

    Attributes
    ----------
    variant
        ``"linear"``: ``g(f) = slope * f + intercept``; ``"conditional_mean"``:
        ``g(f) = means[k]`` where ``keys[k] == f``.
    slope, intercept
        the linear map's coefficients (0 for the other variant).
    keys
        (K,) the feature's distinct values, ascending (conditional_mean only).
    means
        (K,) the mean of ``h . u`` over the positions with each value.
    """

    variant: str
    slope: float = 0.0
    intercept: float = 0.0
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    means: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise FactormapError(f"variant must be one of {', '.join(VARIANTS)}, not {self.variant!r}.")
        if not (np.isfinite(self.slope) and np.isfinite(self.intercept) and np.all(np.isfinite(self.means))):
            raise FactormapError("the oracle values contain NaN or infinite numbers.")

    def __call__(self, f: np.ndarray) -> np.ndarray:
        """``g(f)`` for a block of feature values, float64.

        Raises
        ------
        FactormapError
            (conditional_mean) a value of f the fit never saw.
        """
        f = np.asarray(f, np.float64)
        if self.variant == "linear":
            return self.slope * f + self.intercept
        k = np.minimum(np.searchsorted(self.keys, f), self.keys.size - 1)
        if f.size and (self.keys.size == 0 or not np.array_equal(self.keys[k], f)):
            raise FactormapError("the feature takes a value the conditional-mean oracle was not fitted on.")
        return self.means[k]


@dataclass(frozen=True, eq=False)
class OracleValues:
    """``g(f_t)`` for every position t, computed when a range is asked for (read-only, like an array).

    Slicing with ``[t0:t1]`` gives the float64 values of [t0, t1); ``np.asarray`` gives all n of them
    (8 bytes per position: meant for short texts and notebooks).

    Attributes
    ----------
    column
        the feature f.
    map
        the fitted map g.
    """

    column: FeatureColumn
    map: OracleMap

    @property
    def shape(self) -> tuple[int]:
        """``(n,)``."""
        return (self.column.n,)

    def __len__(self) -> int:
        return self.column.n

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("oracle values are read by contiguous ranges [t0:t1]")
        t0, t1, _ = index.indices(self.column.n)
        return self.map(self.column.range(t0, max(t0, t1)))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = self[:]
        return values if dtype is None else values.astype(dtype)
