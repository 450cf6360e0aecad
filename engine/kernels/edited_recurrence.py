"""The tanh recurrence with state edits applied after the tanh at every step, as numba kernels.

Each edit k is a rank-one affine map on the state, applied in order ``k = 0, 1, ...``::

    c = (alpha[k] - 1) * (h . U[k]) + beta[k, t]
    h <- h + c * U[k]

With ``U[k]`` a unit vector this sets the component of h along ``U[k]`` to
``alpha[k] * (h . U[k]) + beta[k, t]`` and leaves the orthogonal complement alone. The edited h is
written to ``out[t]`` and feeds the next step. ``c`` and every edited unit are clamped to
``+-STATE_LIMIT`` so that an edit that blows the state up leaves finite numbers (and the next
tanh saturates) instead of inf and NaN.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only
from factormap.engine.kernels.fastmath import VECTOR_FLAGS, tanh_f32
from factormap.engine.kernels.recurrence import ROWS_PER_PASS, preactivation_exact, preactivation_fast

#: Edited states and edit coefficients are clamped to this magnitude (finite through Wh and Wy).
STATE_LIMIT = 1e15

_LIMIT32 = np.float32(STATE_LIMIT)


@njit(inline="always", **VECTOR_FLAGS)
def _edit_fast(h, U, alpha, beta, t):
    """Apply edits k = 0, 1, ... of position t to the float32 state h in place."""
    one = np.float32(1.0)
    for k in range(U.shape[0]):
        u = U[k]
        d = np.float32(0.0)
        for i in range(h.shape[0]):
            d += h[i] * u[i]
        c = min(max((alpha[k] - one) * d + beta[k, t], -_LIMIT32), _LIMIT32)
        for i in range(h.shape[0]):
            h[i] = min(max(h[i] + c * u[i], -_LIMIT32), _LIMIT32)


@njit(**VECTOR_FLAGS)
def edited_recur_fast_kernel(WxT, WhT, bh, x, h0, U, alpha, beta):
    """float32 edited recurrence with the rational tanh (the matrix-vector product of
    ``recur_fast_kernel``); returns the (len(x), H) edited states."""
    H = bh.shape[0]
    h = h0.copy()
    pre = np.empty(H, np.float32)
    out = np.empty((x.shape[0], H), np.float32)
    for t in range(x.shape[0]):
        preactivation_fast(pre, WxT, WhT, bh, x[t], h)
        ht = out[t]
        for i in range(H):
            ht[i] = tanh_f32(pre[i])
        _edit_fast(ht, U, alpha, beta, t)
        h = ht
    return out


@njit(**NUMBA_FLAGS_EXACT)
def edited_recur_exact_kernel(WxT, WhT, bh, x, h0, U, alpha, beta):
    """The same edited recurrence with libm ``tanh`` and no fastmath, in float64."""
    H = bh.shape[0]
    h = h0.copy()
    pre = np.empty(H, np.float64)
    out = np.empty((x.shape[0], H), np.float64)
    for t in range(x.shape[0]):
        preactivation_exact(pre, WxT, WhT, bh, x[t], h)
        for i in range(H):
            h[i] = np.tanh(pre[i])
        for k in range(U.shape[0]):
            u = U[k]
            d = 0.0
            for i in range(H):
                d += h[i] * u[i]
            c = min(max((alpha[k] - 1.0) * d + beta[k, t], -STATE_LIMIT), STATE_LIMIT)
            for i in range(H):
                h[i] = min(max(h[i] + c * u[i], -STATE_LIMIT), STATE_LIMIT)
        for i in range(H):
            out[t, i] = h[i]
    return out


def warm(exact: bool = True) -> None:
    """Compile the fast kernel and, with ``exact``, the float64 one, with the read-only array types
    the wrapper passes them."""
    x = read_only(np.arange(3, dtype=np.uint8))
    H = ROWS_PER_PASS + 1
    variants = [(np.float32, edited_recur_fast_kernel)]
    if exact:
        variants.append((np.float64, edited_recur_exact_kernel))
    for dtype, kernel in variants:
        WxT, WhT, bh, h0 = (read_only(np.zeros(shape, dtype)) for shape in ((256, H), (H, H), H, H))
        U, alpha, beta = (read_only(np.zeros(shape, dtype)) for shape in ((1, H), 1, (1, 3)))
        kernel(WxT, WhT, bh, x, h0, U, alpha, beta)
