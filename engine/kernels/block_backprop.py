"""Backpropagation of a block of predictions at once (the attribution summary), and ``V @ W``.

The block's gradients go back one offset at a time, ``G_{k+1} = ((1 - H_k^2) * G_k) @ Wh``: a
(rows, H) by (H, H) product per offset by :func:`block_product` (float32 register tiles of
:mod:`factormap.engine.kernels.block_product`: six predictions by sixteen units, eight by
thirty-two on AVX-512; float64 four predictions and four rows of ``Wh`` per pass over the
accumulators), as fast as a single-threaded BLAS product or faster, without BLAS's thread pool
(which stalls when the other core is busy). Each offset's statistics are those of one prediction
(:func:`~factormap.engine.kernels.backprop.offset_sums`).
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only
from factormap.engine.kernels.backprop import BLOCK_FLAGS, offset_sums
from factormap.engine.kernels.block_product import TILE_ROWS, narrow_tile_product, tile_product


def block_product(V, W, G):
    """``G = V @ W``. In numba code: :func:`~factormap.engine.kernels.block_product.tile_product`
    when all three are float32 (sums in registers, in the order of ``W``'s rows) and the rows and
    columns past its tiles one row at a time, else :func:`_rows_times_matrix`."""
    G[...] = V @ W


@overload(block_product, inline="always")
def _block_product_numba(V, W, G):
    if all(isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C" for a in (V, W, G)):
        return _tiled_block_product
    return lambda V, W, G: _rows_times_matrix(V, W, G)


def _tiled_block_product(V, W, G):
    done = narrow_tile_product(V, W, G, tile_product(V, W, G, 0))
    R, H = V.shape
    tiled_rows = R - R % TILE_ROWS
    for r in range(R):
        first = done if r < tiled_rows else 0
        a = G[r]
        for i in range(first, W.shape[1]):
            a[i] = 0
        for j in range(H):
            vj = V[r, j]
            w = W[j]
            for i in range(first, W.shape[1]):
                a[i] += w[i] * vj


@njit(**BLOCK_FLAGS)
def matrix_product_kernel(V, W, G):
    """``G = V @ W`` of float32 C-contiguous arrays by :func:`block_product`: each entry is one chain
    of FMAs in the order of ``W``'s rows, so a row's result depends neither on the other rows nor
    on a thread count (OpenBLAS's sgemm rounds differently on 1 and 2 threads)."""
    block_product(V, W, G)
    return G


def matrix_product(V: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``V @ W``: by :func:`matrix_product_kernel` when both are float32, else numpy's (float64)."""
    if V.dtype == W.dtype == np.float32:
        V, W = read_only(np.ascontiguousarray(V)), read_only(np.ascontiguousarray(W))
        return matrix_product_kernel(V, W, np.empty((V.shape[0], W.shape[1]), np.float32))
    return V @ W


@njit(**BLOCK_FLAGS)
def _rows_times_matrix(V, W, G):
    """``G[r] = V[r] @ W`` for every row; four rows of V and four rows of W per accumulator pass."""
    R, H = V.shape
    R4, H4 = R - R % 4, H - H % 4
    for r in range(0, R4, 4):
        a0, a1, a2, a3 = G[r], G[r + 1], G[r + 2], G[r + 3]
        for i in range(H):
            a0[i] = 0
            a1[i] = 0
            a2[i] = 0
            a3[i] = 0
        for j in range(0, H4, 4):
            w0, w1, w2, w3 = W[j], W[j + 1], W[j + 2], W[j + 3]
            p0, p1, p2, p3 = V[r, j], V[r, j + 1], V[r, j + 2], V[r, j + 3]
            q0, q1, q2, q3 = V[r + 1, j], V[r + 1, j + 1], V[r + 1, j + 2], V[r + 1, j + 3]
            s0, s1, s2, s3 = V[r + 2, j], V[r + 2, j + 1], V[r + 2, j + 2], V[r + 2, j + 3]
            u0, u1, u2, u3 = V[r + 3, j], V[r + 3, j + 1], V[r + 3, j + 2], V[r + 3, j + 3]
            for i in range(H):
                x0, x1, x2, x3 = w0[i], w1[i], w2[i], w3[i]
                a0[i] += (x0 * p0 + x1 * p1) + (x2 * p2 + x3 * p3)
                a1[i] += (x0 * q0 + x1 * q1) + (x2 * q2 + x3 * q3)
                a2[i] += (x0 * s0 + x1 * s1) + (x2 * s2 + x3 * s3)
                a3[i] += (x0 * u0 + x1 * u1) + (x2 * u2 + x3 * u3)
        for j in range(H4, H):
            w = W[j]
            p, q, s, u = V[r, j], V[r + 1, j], V[r + 2, j], V[r + 3, j]
            for i in range(H):
                a0[i] += w[i] * p
                a1[i] += w[i] * q
                a2[i] += w[i] * s
                a3[i] += w[i] * u
    for r in range(R4, R):
        a = G[r]
        for i in range(H):
            a[i] = 0
        for j in range(H):
            vj = V[r, j]
            w = W[j]
            for i in range(H):
                a[i] += w[i] * vj
    return G


#: Rows :func:`offsets_kernel` takes through every offset together: their gradients and the
#: products' inputs (256 KB each at H = 128) stay in a core's L2. Whole blocks of 8,192 rows made the two
#: threads of a summary stream 12 MB per offset from memory: 138 ms a part with both running,
#: 112 ms with sweeps of 512 rows (Zen 5, the same bits).
ROWS_PER_SWEEP = 512


@njit(**BLOCK_FLAGS)
def offsets_kernel(G, states, xs, WxT, Wh, start, stats, energy):
    """Backpropagate a block of predictions through every offset, with each offset's statistics.

    Row r is the prediction at ``t = start + r``; ``G[r] = g_0`` on entry (overwritten).
    ``states[K-k+r] = h_{t-k}`` and ``xs[K-k+r] = x_{t-k}`` (rows before the text are never read).
    For each k <= t writes ``stats[0, k, r] = ||g_k||``, ``stats[1, k, r] = g_k . Wx[:, x_{t-k}]``,
    ``stats[2, k, r] = ((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]`` and adds ``g_{k,j}^2`` into
    ``energy[k, j]``; then ``g_{k+1} = ((1 - h_{t-k}^2) * g_k) @ Wh`` for all rows at once.

    The rows go through every offset :data:`ROWS_PER_SWEEP` at a time, so that their gradients stay
    in L2 from one offset to the next; each ``energy[k]`` still adds its rows in order.
    """
    R, H = G.shape
    K = stats.shape[1] - 1
    V = np.empty((min(R, ROWS_PER_SWEEP), H), G.dtype)  # row r - r0: written at offset k, then read
    for r0 in range(0, R, ROWS_PER_SWEEP):
        r1 = min(R, r0 + ROWS_PER_SWEEP)
        for k in range(K + 1):
            first = max(r0, k - start)
            if first >= r1:
                break
            for r in range(first, r1):
                g = G[r]
                h = states[K - k + r]
                w = WxT[xs[K - k + r]]
                v = V[r - r0]
                sq, a, a_exact = offset_sums(g, h, w, v)
                e = energy[k]
                for j in range(H):
                    e[j] += g[j] * g[j]
                stats[0, k, r] = np.sqrt(sq)
                stats[1, k, r] = a
                stats[2, k, r] = a_exact
            if k < K:
                block_product(V[first - r0:r1 - r0], Wh, G[first:r1])
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
        kept = 0.0
        for i in range(filled):
            kept += top[i]
        out[r] = kept / total if total > 0 else np.nan
    return out


def warm(exact: bool = True) -> None:
    """Compile the kernels for float32 models and, with ``exact``, float64 ones, with read-only
    weights as models hold them."""
    H, K = 5, 2
    xs = np.zeros(K + 3, np.uint8)
    for dtype in (np.float32, np.float64)[:1 + exact]:
        Wh, WxT = read_only(np.zeros((H, H), dtype)), read_only(np.zeros((256, H), dtype))
        stats = np.zeros((3, K + 1, 3), dtype)
        offsets_kernel(np.zeros((3, H), dtype), np.zeros((K + 3, H), dtype), xs, WxT, Wh, 0, stats,
                       np.zeros((K + 1, H)))
        top_share_kernel(np.zeros((3, H), dtype), 2, np.empty(3, dtype))
    matrix_product(np.zeros((K + 1, H), np.float32), np.zeros((H, 256), np.float32))  # both readout products
    matrix_product(np.zeros((K + 1, 256), np.float32), np.zeros((256, H), np.float32))
