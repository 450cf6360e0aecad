"""Backpropagation through the tanh recurrence, one prediction at a time or a block at a time.

With ``h_s = tanh(bh + Wx[:, x_s] + Wh @ h_{s-1})``, a gradient ``g = d L / d h_s`` becomes
``d L / d h_{s-1} = Wh^T ((1 - h_s^2) * g)``. ``Wh^T v`` is computed as the sum of the rows of
``Wh`` scaled by ``v[j]`` (``Wh`` is C-contiguous), the same vectorisable layout as the forward
kernel in :mod:`factormap.engine.kernels.recurrence`. No fastmath: float64 models must give the
float64 result that finite differences check.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS, NUMBA_FLAGS_EXACT


@njit(**NUMBA_FLAGS_EXACT)
def backprop_kernel(Wh, states, g0, out):
    """``out[0] = g0``; ``out[k+1] = Wh^T ((1 - h^2) * out[k])`` with ``h = states[K-k]``.

    ``states`` holds ``h_{t-K} .. h_t`` in forward order, so ``states[K-k]`` is ``h_{t-k}``;
    ``out`` is (K+1, H).
    """
    K = out.shape[0] - 1
    H = g0.shape[0]
    v = np.empty(H, out.dtype)
    for i in range(H):
        out[0, i] = g0[i]
    for k in range(K):
        h = states[K - k]
        g = out[k]
        for j in range(H):
            v[j] = (1 - h[j] * h[j]) * g[j]
        nxt = out[k + 1]
        for i in range(H):
            nxt[i] = 0
        for j in range(H):
            vj = v[j]
            row = Wh[j]
            for i in range(H):
                nxt[i] += row[i] * vj
    return out


@njit(**NUMBA_FLAGS)
def offset_step_kernel(G, states, xs, WxT, V, stats, energy):
    """Statistics of one offset k for a block of predictions, and the tanh' product for the next.

    Row r of every array belongs to one prediction t: ``G[r] = g_k``, ``states[r] = h_{t-k}``,
    ``xs[r] = x_{t-k}``. Writes ``V[r] = (1 - h_{t-k}^2) * g_k`` (so ``g_{k+1} = V[r] @ Wh``),
    ``stats[0, r] = ||g_k||``, ``stats[1, r] = g_k . Wx[:, x_{t-k}]``,
    ``stats[2, r] = V[r] . Wx[:, x_{t-k}]``, and adds ``g_{k,j}^2`` into ``energy[j]`` (float64).
    """
    H = G.shape[1]
    for r in range(G.shape[0]):
        g = G[r]
        h = states[r]
        w = WxT[xs[r]]
        sq = 0.0
        a = 0.0
        a_exact = 0.0
        for j in range(H):
            gj = g[j]
            vj = (1 - h[j] * h[j]) * gj
            V[r, j] = vj
            sq += gj * gj
            a += gj * w[j]
            a_exact += vj * w[j]
            energy[j] += gj * gj
        stats[0, r] = np.sqrt(sq)
        stats[1, r] = a
        stats[2, r] = a_exact
    return stats


@njit(**NUMBA_FLAGS_EXACT)
def top_share_kernel(G, n, out):
    """``out[r] = sum of the n largest G[r, j]^2 / sum_j G[r, j]^2`` (NaN for a zero row).

    Keeps the n largest squares in a small descending buffer (insertion), so no row is sorted.
    """
    H = G.shape[1]
    n = min(n, H)
    top = np.empty(n, np.float64)
    for r in range(G.shape[0]):
        g = G[r]
        total = 0.0
        filled = 0
        for j in range(H):
            e = np.float64(g[j]) * np.float64(g[j])
            total += e
            if filled < n:
                filled += 1
            elif e <= top[n - 1]:
                continue
            i = filled - 1
            while i > 0 and top[i - 1] < e:
                top[i] = top[i - 1]
                i -= 1
            top[i] = e
        out[r] = top[:filled].sum() / total if total > 0 else np.nan
    return out
