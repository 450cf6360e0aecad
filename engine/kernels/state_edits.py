"""Rank-one state edits applied after the tanh at every step of the recurrence (inlined into its kernels).

Each edit k is a rank-one affine map on the state, applied in order ``k = 0, 1, ...``::

    c = (alpha[k] - 1) * (h . U[k]) + beta[k, t]
    h <- h + c * U[k]

With ``U[k]`` a unit vector this sets the component of h along ``U[k]`` to
``alpha[k] * (h . U[k]) + beta[k, t]`` and leaves the orthogonal complement alone. The edited h
feeds the next step. ``c`` and every edited unit are clamped to ``+-STATE_LIMIT`` so that an edit
that blows the state up leaves finite numbers (and the next tanh saturates) instead of inf and NaN.
A ``U`` with no rows edits nothing: that is the plain recurrence.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only
from factormap.engine.kernels.fastmath import VECTOR_FLAGS

#: Edited states and edit coefficients are clamped to this magnitude (finite through Wh and Wy).
STATE_LIMIT = 1e15

_LIMIT32 = np.float32(STATE_LIMIT)


@njit(inline="always", **VECTOR_FLAGS)
def edit_fast(h, U, alpha, beta, t):
    """Apply edits k = 0, 1, ... of step t to the float32 state h in place."""
    one = np.float32(1.0)
    for k in range(U.shape[0]):
        u = U[k]
        d = np.float32(0.0)
        for i in range(h.shape[0]):
            d += h[i] * u[i]
        c = min(max((alpha[k] - one) * d + beta[k, t], -_LIMIT32), _LIMIT32)
        for i in range(h.shape[0]):
            h[i] = min(max(h[i] + c * u[i], -_LIMIT32), _LIMIT32)


@njit(inline="always", **NUMBA_FLAGS_EXACT)
def edit_exact(h, U, alpha, beta, t):
    """Apply edits k = 0, 1, ... of step t to the state h in place, in source order."""
    for k in range(U.shape[0]):
        u = U[k]
        d = 0.0
        for i in range(h.shape[0]):
            d += h[i] * u[i]
        c = min(max((alpha[k] - 1.0) * d + beta[k, t], -STATE_LIMIT), STATE_LIMIT)
        for i in range(h.shape[0]):
            h[i] = min(max(h[i] + c * u[i], -STATE_LIMIT), STATE_LIMIT)


def no_edits(H: int, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, alpha, beta)`` with no edits, of the array types the edited runs pass (one compiled kernel)."""
    return read_only(np.zeros((0, H), dtype)), read_only(np.zeros(0, dtype)), read_only(np.zeros((0, 0), dtype))
