"""How far float32 figures can be trusted on a text: the trust horizon and the Lyapunov exponent.

A model that is chaotic on a text amplifies every rounding error: its float32 and float64 states
part after some position, and a figure fed by the recurrence past it is a sample from a
distribution rather than a number. Two figures say whether that happens, over the first
``positions`` bytes of the text (all of it, up to :data:`~factormap.engine.config.TRUST_POSITIONS`):

- the **trust horizon**: the first position t where ``max_i |h32_t[i] - h64_t[i]|`` exceeds the
  tolerance, ``h32`` being the float32 states the explorer computes (the fast kernel, from the
  weights rounded to float32) and ``h64`` the float64 ones (libm tanh, the weights as given);
  None where the states never part by more than that;
- the **largest Lyapunov exponent** of the float64 trajectory, in nats per step:
  ``lambda = (1/T) sum_t log ||J_t v_{t-1}||`` with ``J_t = diag(1 - h_t**2) Wh`` and
  ``v_t = J_t v_{t-1} / ||J_t v_{t-1}||`` from a fixed random unit ``v_{-1}`` (seed 0), t = 0..T-1.
  Above 0, nearby states separate by ``e**lambda`` per byte on average: the trajectory is chaotic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.config import CHUNK, TRUST_POSITIONS, TRUST_TOLERANCE
from factormap.engine.errors import Cancelled
from factormap.engine.forward import as_bytes_array, recur
from factormap.engine.kernels import read_only
from factormap.engine.kernels.tangent import tangent_log_growth_kernel
from factormap.engine.model import Model


@dataclass(frozen=True)
class Chaos:
    """The trust horizon and the Lyapunov exponent of a model on a text (see the module doc).

    Attributes
    ----------
    horizon
        first position t with ``max_i |h32_t[i] - h64_t[i]| > tolerance``; None if none.
    tolerance
        the tolerance of ``horizon`` (an absolute difference of tanh units).
    max_divergence
        the largest ``max_i |h32_t[i] - h64_t[i]|`` over the positions checked.
    lyapunov
        the largest Lyapunov exponent of the float64 trajectory, nats per step.
    positions
        how many positions (from 0) both figures cover.
    """

    horizon: int | None
    tolerance: float
    max_divergence: float
    lyapunov: float
    positions: int


def initial_tangent(hidden: int) -> np.ndarray:
    """The fixed unit vector ``v_{-1}`` the exponent starts from (normal, seed 0, normalised)."""
    v = np.random.default_rng(0).normal(size=hidden)
    return v / np.linalg.norm(v)


def chaos(model: Model, text, *, tolerance: float = TRUST_TOLERANCE, max_positions: int = TRUST_POSITIONS,
          progress: Callable[[float], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> Chaos:
    """The :class:`Chaos` figures of ``model`` over the first ``max_positions`` bytes of ``text``.

    Runs the float32 and float64 recurrences side by side in chunks (memory: a few chunks of
    states) and carries the tangent along the float64 one.

    Raises
    ------
    Cancelled
        ``should_stop()`` returned true between chunks.
    """
    xs = as_bytes_array(text)[:max(0, int(max_positions))]
    n = xs.shape[0]
    m32 = model if model.dtype == np.float32 else model.astype(np.float32)
    m64 = model if model.dtype == np.float64 else model.astype(np.float64)
    WhT = read_only(np.ascontiguousarray(m64.WhT))
    h32, h64 = np.zeros(model.H, np.float32), np.zeros(model.H, np.float64)
    v, scratch = initial_tangent(model.H), np.empty(model.H)
    horizon, worst, log_growth = None, 0.0, 0.0
    for k0 in range(0, n, CHUNK):
        if should_stop is not None and should_stop():
            raise Cancelled("chaos")
        k1 = min(n, k0 + CHUNK)
        s32, s64 = recur(m32, xs[k0:k1], h32), recur(m64, xs[k0:k1], h64)
        h32, h64 = s32[-1].copy(), s64[-1].copy()
        gap = np.max(np.abs(s32.astype(np.float64) - s64), axis=1)
        worst = max(worst, float(gap.max()))
        if horizon is None and gap.max() > tolerance:
            horizon = k0 + int(np.argmax(gap > tolerance))
        log_growth += tangent_log_growth_kernel(WhT, read_only(s64), v, scratch)
        if progress is not None:
            progress(k1 / n)
    return Chaos(horizon=horizon, tolerance=float(tolerance), max_divergence=worst,
                 lyapunov=log_growth / n if n else math.nan, positions=n)
