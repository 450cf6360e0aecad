"""The values a write-in oracle writes: what the true feature implies for ``h . u``.

With ``p_t = h_t . u`` over the session's baseline states (every position) and the feature f:

- ``"linear"``: ``values_t = a f_t + c``, the least-squares fit of p on f
  (``a = Cov(p, f) / Var(f)``, ``c = E[p] - a E[f]``; ``a = 0`` for a constant f);
- ``"conditional_mean"``: ``values_t = E[p | f = f_t]``, the mean of p over the positions that share
  f's value at t (every value has support: t itself).

The fit reads p and f block by block in one pass (:class:`OracleFit`) and the oracle computes its
values range by range from the feature (:class:`~.oracle_values.OracleValues`), so neither p nor
the values are ever held for the whole text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from factormap.engine.errors import Cancelled, FactormapError
from factormap.engine.factor_map.stream import FeatureColumn
from factormap.engine.interventions.directions import unit
from factormap.engine.interventions.oracle_values import VARIANTS, OracleMap, OracleValues
from factormap.engine.interventions.specs import WriteInOracle
from factormap.engine.factor_map.moments import StateMoments

__all__ = ["VARIANTS", "OracleFit", "oracle_values", "fit_write_in_oracle"]

_CHUNK = 1 << 16


class OracleFit:
    """The fit of ``p = h . u`` on a feature f, from blocks of (p, f) given in position order.

    ``"linear"`` keeps the shifted moments of the pair (p, f) (:class:`StateMoments` of the
    two-column block) and the least and greatest f; ``"conditional_mean"`` keeps, per distinct value
    of f, its count and the sum of p, each p added in position order (as ``np.bincount`` adds them),
    so the means do not depend on the blocks. Memory: a few numbers per distinct value.
    """

    def __init__(self, variant: str = "linear") -> None:
        if variant not in VARIANTS:
            raise FactormapError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}.")
        self.variant = variant
        self._pair = StateMoments(2)
        self._lo, self._hi = np.inf, -np.inf
        self._index: dict[float, int] = {}
        self._sums = np.zeros(0)
        self._counts = np.zeros(0, np.int64)

    def add(self, p: np.ndarray, f: np.ndarray) -> None:
        """Add a block: projections p and the feature f at the same positions (same length)."""
        p, f = np.asarray(p, np.float64), np.asarray(f, np.float64)
        if not f.size:
            return
        if self.variant == "linear":
            self._pair.add(np.column_stack([p, f]))
            self._lo, self._hi = min(self._lo, float(f.min())), max(self._hi, float(f.max()))
            return
        keys, inverse = np.unique(f, return_inverse=True)
        for key in keys.tolist():
            self._index.setdefault(key, len(self._index))
        grow = len(self._index) - self._sums.size
        self._sums = np.concatenate([self._sums, np.zeros(grow)])
        self._counts = np.concatenate([self._counts, np.zeros(grow, np.int64)])
        slots = np.array([self._index[key] for key in keys.tolist()])[inverse]
        np.add.at(self._sums, slots, p)
        self._counts += np.bincount(slots, minlength=self._counts.size)

    def result(self) -> OracleMap:
        """The fitted map from a feature value to the value written."""
        if self.variant == "linear":
            if self._pair.n == 0 or self._lo == self._hi:
                slope = 0.0
            else:
                cov = self._pair.cov
                slope = float(cov[0, 1] / cov[1, 1])
            mean_p, mean_f = self._pair.mean if self._pair.n else (0.0, 0.0)
            return OracleMap("linear", slope=slope, intercept=float(mean_p - slope * mean_f))
        keys = np.array(sorted(self._index))
        slots = np.array([self._index[key] for key in keys.tolist()], np.int64)
        return OracleMap("conditional_mean", keys=keys, means=self._sums[slots] / self._counts[slots])


def oracle_values(p: np.ndarray, f: np.ndarray, variant: str = "linear") -> np.ndarray:
    """The oracle's value at every position from projections p and feature f (see the module)."""
    fit = OracleFit(variant)
    fit.add(p, f)
    return fit.result()(f)


def fit_write_in_oracle(session, direction, feature, variant: str = "linear", name: str = "", *,
                        progress: Callable[[float], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> WriteInOracle:
    """A :class:`WriteInOracle` along ``direction`` with values fitted on the session's states.

    Parameters
    ----------
    session : the baseline session.
    direction : (H,) the direction u (normalised).
    feature : the true feature f, aligned with the states h_t: the name of a standard feature
        (streamed from the text; the oracle holds no per-position array), or an (n,) array (held
        by the oracle as float64).
    variant : ``"linear"`` or ``"conditional_mean"``.
    name : the direction's label for ``describe()``.
    progress : called with the fraction of the fitting pass done after each block.
    should_stop : polled before each block; when true, :class:`Cancelled` is raised.
    """
    fit = OracleFit(variant)
    column = FeatureColumn(session.x, feature, session.chunk)
    u = unit(direction, session.H)
    for t0 in range(0, session.n, _CHUNK):
        if should_stop is not None and should_stop():
            raise Cancelled("write-in oracle fit stopped")
        t1 = min(session.n, t0 + _CHUNK)
        fit.add(session.states(t0, t1).astype(np.float64) @ u, column.range(t0, t1))
        if progress is not None:
            progress(t1 / session.n)
    return WriteInOracle(direction, OracleValues(column, fit.result()), variant=variant, name=name)
