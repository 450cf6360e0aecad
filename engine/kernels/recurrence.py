"""The tanh recurrence ``h_t = E_t(tanh(bh + Wx[:, x_t] + Wh @ h_{t-1}))`` as numba kernels.

``E_t`` applies the rank-one state edits of step t (:mod:`factormap.engine.kernels.state_edits`);
with none it is the identity, so the plain and the edited recurrence are one kernel (one compile).
Both kernels take ``WxT`` (256, H) and ``WhT`` (H, H), the transposed weights, so the matrix-vector
product is a sum of contiguous rows scaled by ``h[j]``: it vectorises across units with no
horizontal reductions. The fast kernel forms it with :func:`~factormap.engine.kernels.matvec.add_matvec`
(accumulators in registers), streaming ``WhT`` forwards at even steps t of a call and backwards at
odd ones, so each step starts on the rows still in L1; it reads ``h_{t-1}`` straight from
``out[t-1]``. The two directions round each unit's sum differently, so a run reproduces the states
of another bit for bit when it starts at a position of the same parity (the session's segments
start at multiples of the checkpoint spacing). :func:`add_rows_times` (eight rows per pass over
the accumulator) serves kernels whose accumulator is not one vector of H floats.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only
from factormap.engine.kernels.fastmath import VECTOR_FLAGS, tanh_f32
from factormap.engine.kernels.matvec import add_matvec
from factormap.engine.kernels.state_edits import edit_exact, edit_fast, no_edits

#: Rows of WhT added per pass over the accumulator in the fast kernel.
ROWS_PER_PASS = 8


@njit(inline="always", **VECTOR_FLAGS)
def _add_eight_rows(pre, WhT, h, j):
    """``pre += WhT[j:j+8].T @ h[j:j+8]`` as one pass over ``pre``."""
    h0, h1, h2, h3 = h[j], h[j + 1], h[j + 2], h[j + 3]
    h4, h5, h6, h7 = h[j + 4], h[j + 5], h[j + 6], h[j + 7]
    r0, r1, r2, r3 = WhT[j], WhT[j + 1], WhT[j + 2], WhT[j + 3]
    r4, r5, r6, r7 = WhT[j + 4], WhT[j + 5], WhT[j + 6], WhT[j + 7]
    for i in range(pre.shape[0]):
        pre[i] += (((r0[i] * h0 + r1[i] * h1) + (r2[i] * h2 + r3[i] * h3))
                   + ((r4[i] * h4 + r5[i] * h5) + (r6[i] * h6 + r7[i] * h7)))


@njit(inline="always", **VECTOR_FLAGS)
def add_rows_times(acc, W, v):
    """``acc += W^T v``: the rows of ``W`` scaled by ``v[j]``, eight rows per pass (inlined)."""
    H = v.shape[0]
    whole = H - H % ROWS_PER_PASS
    for j in range(0, whole, ROWS_PER_PASS):
        _add_eight_rows(acc, W, v, j)
    for j in range(whole, H):
        vj = v[j]
        row = W[j]
        for i in range(acc.shape[0]):
            acc[i] += row[i] * vj


@njit(inline="always", **VECTOR_FLAGS)
def preactivation_fast(pre, WxT, WhT, bh, xt, h, descending):
    """``pre = bh + Wx[:, xt] + Wh @ h``, the rows of ``Wh^T`` in reverse order when ``descending``
    (inlined)."""
    xrow = WxT[xt]
    for i in range(bh.shape[0]):
        pre[i] = bh[i] + xrow[i]
    add_matvec(pre, WhT, h, descending)


@njit(inline="always", **NUMBA_FLAGS_EXACT)
def preactivation_exact(pre, WxT, WhT, bh, xt, h):
    """``pre = bh + Wx[:, xt] + Wh @ h`` one row at a time, in source order (inlined)."""
    H = bh.shape[0]
    xrow = WxT[xt]
    for i in range(H):
        pre[i] = bh[i] + xrow[i]
    for j in range(H):
        hj = h[j]
        row = WhT[j]
        for i in range(H):
            pre[i] += row[i] * hj


@njit(**VECTOR_FLAGS)
def recur_fast_kernel(WxT, WhT, bh, x, h0, edits, out):
    """float32 recurrence with the rational tanh and ``edits = (U, alpha, beta)`` after it (see
    :mod:`~factormap.engine.kernels.state_edits`); writes h_t into ``out[t]``."""
    U, alpha, beta = edits
    H = bh.shape[0]
    h = h0.copy()
    pre = np.empty(H, np.float32)
    for t in range(x.shape[0]):
        preactivation_fast(pre, WxT, WhT, bh, x[t], h, t % 2 == 1)
        ht = out[t]
        for i in range(H):
            ht[i] = tanh_f32(pre[i])
        edit_fast(ht, U, alpha, beta, t)
        h = ht


@njit(**NUMBA_FLAGS_EXACT)
def recur_exact_kernel(WxT, WhT, bh, x, h0, edits, out):
    """The same recurrence with libm ``tanh`` and no fastmath, in the weights' own dtype."""
    U, alpha, beta = edits
    H = bh.shape[0]
    h = h0.copy()
    pre = np.empty(H, h0.dtype)
    for t in range(x.shape[0]):
        preactivation_exact(pre, WxT, WhT, bh, x[t], h)
        for i in range(H):
            h[i] = np.tanh(pre[i])
        edit_exact(h, U, alpha, beta, t)
        for i in range(H):
            out[t, i] = h[i]


def warm(exact: bool = True) -> None:
    """Compile the fast float32 kernel and, with ``exact``, the exact one for float32 and float64
    weights; read-only weights as models hold them, and edits as the wrappers pass them."""
    x = read_only(np.arange(3, dtype=np.uint8))
    H = ROWS_PER_PASS + 1
    variants = [(np.float32, recur_fast_kernel)]
    if exact:
        variants += [(np.float32, recur_exact_kernel), (np.float64, recur_exact_kernel)]
    for dtype, kernel in variants:
        WxT, WhT, bh, h0 = (read_only(np.zeros(shape, dtype)) for shape in ((256, H), (H, H), H, H))
        kernel(WxT, WhT, bh, x, h0, no_edits(H, dtype), np.empty((3, H), dtype))
