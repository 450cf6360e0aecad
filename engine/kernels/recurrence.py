"""The tanh recurrence ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})`` as numba kernels.

Both kernels take ``WxT`` (256, H) and ``WhT`` (H, H), the transposed weights, so the matrix-vector
product is a sum of contiguous rows scaled by ``h[j]``: it vectorises across units with no
horizontal reductions, and the H accumulators stay in registers.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS, NUMBA_FLAGS_EXACT
from factormap.engine.kernels.fastmath import tanh_f32


@njit(**NUMBA_FLAGS)
def recur_fast_kernel(WxT, WhT, bh, x, h0, out):
    """float32 recurrence with the rational tanh; writes h_t into ``out[t]``, returns the last h."""
    H = bh.shape[0]
    h = h0.copy()
    pre = np.empty(H, np.float32)
    for t in range(x.shape[0]):
        xrow = WxT[x[t]]
        for i in range(H):
            pre[i] = bh[i] + xrow[i]
        for j in range(H):
            hj = h[j]
            row = WhT[j]
            for i in range(H):
                pre[i] += row[i] * hj
        for i in range(H):
            v = tanh_f32(pre[i])
            h[i] = v
            out[t, i] = v
    return h


@njit(**NUMBA_FLAGS_EXACT)
def recur_exact_kernel(WxT, WhT, bh, x, h0, out):
    """The same recurrence with libm ``tanh`` and no fastmath, in the weights' own dtype."""
    H = bh.shape[0]
    h = h0.copy()
    pre = np.empty(H, h0.dtype)
    for t in range(x.shape[0]):
        xrow = WxT[x[t]]
        for i in range(H):
            pre[i] = bh[i] + xrow[i]
        for j in range(H):
            hj = h[j]
            row = WhT[j]
            for i in range(H):
                pre[i] += row[i] * hj
        for i in range(H):
            v = np.tanh(pre[i])
            h[i] = v
            out[t, i] = v
    return h
