"""The values a write-in oracle writes: what the true feature implies for ``h . u``.

With ``p_t = h_t . u`` over the session's baseline states (every position) and the feature f:

- ``"linear"``: ``values_t = a f_t + c``, the least-squares fit of p on f
  (``a = Cov(p, f) / Var(f)``, ``c = E[p] - a E[f]``; ``a = 0`` for a constant f);
- ``"conditional_mean"``: ``values_t = E[p | f = f_t]``, the mean of p over the positions that share
  f's value at t (every value has support: t itself).
"""

from __future__ import annotations

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.interventions.directions import unit
from factormap.engine.interventions.specs import WriteInOracle

VARIANTS = ("linear", "conditional_mean")
_CHUNK = 1 << 16


def projections(session, direction: np.ndarray) -> np.ndarray:
    """``p_t = h_t . u`` for every position of the session's baseline states, float64 (n,)."""
    u = unit(direction, session.H)
    return np.concatenate([session.states(t0, min(session.n, t0 + _CHUNK)).astype(np.float64) @ u
                           for t0 in range(0, session.n, _CHUNK)])


def oracle_values(p: np.ndarray, f: np.ndarray, variant: str = "linear") -> np.ndarray:
    """The oracle's value at every position from projections p and feature f (see the module)."""
    p, f = np.asarray(p, np.float64), np.asarray(f, np.float64)
    if variant == "linear":
        var_f = f.var()
        a = float(np.mean((p - p.mean()) * (f - f.mean())) / var_f) if var_f > 0 else 0.0
        return a * f + (p.mean() - a * f.mean())
    if variant == "conditional_mean":
        _, inverse = np.unique(f, return_inverse=True)
        return (np.bincount(inverse, weights=p) / np.bincount(inverse))[inverse]
    raise FactormapError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}.")


def fit_write_in_oracle(session, direction, feature, variant: str = "linear", name: str = "") -> WriteInOracle:
    """A :class:`WriteInOracle` along ``direction`` with values fitted on the session's states.

    Parameters
    ----------
    session : the baseline session.
    direction : (H,) the direction u (normalised).
    feature : (n,) the true feature f, aligned with the states h_t.
    variant : ``"linear"`` or ``"conditional_mean"``.
    name : the direction's label for ``describe()``.
    """
    f = np.asarray(feature, np.float64)
    if f.shape != (session.n,):
        raise FactormapError(f"the feature has {f.size} values but the text has {session.n} bytes.")
    values = oracle_values(projections(session, direction), f, variant)
    return WriteInOracle(direction, values, variant=variant, name=name)
