"""A tangent vector carried along a trajectory: the kernel of the largest Lyapunov exponent.

Along ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})`` the Jacobian of one step is
``J_t = diag(1 - h_t**2) @ Wh``. A tangent vector ``v`` is mapped to ``J_t v`` and renormalised to
unit length each step; the logs of the norms before renormalising sum to the exponent's numerator.
"""

import math

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only


@njit(**NUMBA_FLAGS_EXACT)
def tangent_log_growth_kernel(WhT, states, v, scratch):
    """Sum over the rows t of ``states`` of ``log ||J_t v_{t-1}||``, with ``v_t = J_t v_{t-1} / ||.||``.

    ``WhT`` is ``Wh`` transposed (H, H), ``states`` the float64 states ``h_t`` (n, H), ``v`` the unit
    tangent before the first row (updated in place, so chunks continue), ``scratch`` (H,) float64.
    A tangent mapped to exactly 0 (every unit saturated) contributes -inf and stays 0.
    """
    H = v.shape[0]
    total = 0.0
    for t in range(states.shape[0]):
        for i in range(H):
            scratch[i] = 0.0
        for j in range(H):
            vj = v[j]
            row = WhT[j]
            for i in range(H):
                scratch[i] += row[i] * vj
        norm2 = 0.0
        for i in range(H):
            h = states[t, i]
            scratch[i] *= 1.0 - h * h
            norm2 += scratch[i] * scratch[i]
        norm = math.sqrt(norm2)
        if norm == 0.0:
            for i in range(H):
                v[i] = 0.0
            return -math.inf
        total += math.log(norm)
        for i in range(H):
            v[i] = scratch[i] / norm
    return total


def warm(exact: bool = True) -> None:
    """Compile the kernel (float64, read-only weights and states: the only types it is given).

    Only with ``exact``: like the float64 recurrence it runs beside, the explorer compiles it on
    first use, in the worker that computes the trust figures after the whole-text pass.
    """
    if not exact:
        return
    H = 3
    v = np.full(H, 1 / math.sqrt(H))
    tangent_log_growth_kernel(read_only(np.eye(H)), read_only(np.zeros((2, H))), v, np.empty(H))
