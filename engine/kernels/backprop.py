"""Backpropagation through the tanh recurrence, one prediction at a time or a block at a time.

With ``h_s = tanh(bh + Wx[:, x_s] + Wh @ h_{s-1})``, a gradient ``g = d L / d h_s`` becomes
``d L / d h_{s-1} = Wh^T ((1 - h_s^2) * g)``. ``Wh^T v`` is computed as the sum of the rows of
``Wh`` scaled by ``v[j]`` (``Wh`` is C-contiguous), the same vectorisable layout as the forward
kernel in :mod:`factormap.engine.kernels.recurrence`: for one prediction by :func:`add_product`
(float32 accumulators in registers, the rows in alternating order from one offset to the next);
for a block of predictions by :func:`block_product` (float32 register tiles of six predictions by
sixteen units, eight by thirty-two on AVX-512; float64 four predictions and four rows of ``Wh``
per pass over the accumulators),
as fast as a single-threaded BLAS product or faster, without BLAS's thread pool (which stalls when
the other core is busy).
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only
from factormap.engine.kernels.block_product import TILE_ROWS, narrow_tile_product, tile_product
from factormap.engine.kernels.fastmath import EXP_LOWEST, exp_f32
from factormap.engine.kernels.matvec import add_matvec
from factormap.engine.kernels.recurrence import add_rows_times

#: The block kernel's flags: reassociation lets the per-row sums vectorise. No ``nnan``/``ninf``
#: (a gradient may overflow on a long K) and no ``arcp``; numpy's error model keeps loops scalar-free.
BLOCK_FLAGS = dict(NUMBA_FLAGS_EXACT, fastmath={"reassoc", "contract", "nsz"}, error_model="numpy")


def add_product(acc, W, v, descending):
    """``acc += W^T v``. In numba code: :func:`~factormap.engine.kernels.matvec.add_matvec` when all
    three are float32 (accumulators in registers; ``descending`` reverses the order of the rows, so
    a chain of products that alternates it starts each on the rows the last one ended with, still
    in L1), else :func:`~factormap.engine.kernels.recurrence.add_rows_times` (rows in order)."""
    acc += W.T @ v


# Not inline="always": numba would type the body again at each of backprop_kernel's three calls
# (an eighth of this module's compile on Zen 3); compiled once, it gives the same bits, 1% slower a call.
@overload(add_product)
def _add_product_numba(acc, W, v, descending):
    if all(isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C" for a in (acc, W, v)):
        return lambda acc, W, v, descending: add_matvec(acc, W, v, descending)
    return lambda acc, W, v, descending: add_rows_times(acc, W, v)


@njit(inline="always", **BLOCK_FLAGS)
def _offset_sums(g, h, w, v):
    """One offset of one prediction: ``v = (1 - h^2) * g`` into ``v``; returns ``(||g||^2,
    g . w, v . w)`` with ``w = Wx[:, x_{t-k}]`` (inlined into both kernels)."""
    sq = 0.0
    a = 0.0
    a_exact = 0.0
    for j in range(g.shape[0]):
        gj = g[j]
        vj = (1 - h[j] * h[j]) * gj
        v[j] = vj
        sq += gj * gj
        a += gj * w[j]
        a_exact += vj * w[j]
    return sq, a, a_exact


def softmax_exp(x, like):
    """``exp(x)`` of a float64 ``x <= 0``. In numba code, :func:`~factormap.engine.kernels.fastmath.exp_f32`
    (relative error below 1e-7, vectorised) when ``like``, an array of the model's dtype, is float32 and
    ``x > EXP_LOWEST``, else ``np.exp`` (float64 models keep a float64 softmax)."""
    return np.exp(x)


@overload(softmax_exp, inline="always")
def _softmax_exp_numba(x, like):
    if isinstance(like, types.Array) and like.dtype == types.float32:
        return lambda x, like: np.float64(exp_f32(np.float32(x)))
    return lambda x, like: np.exp(x)


@njit(inline="always", **BLOCK_FLAGS)
def _readout(WyT, Wy, by, h, target, contrast, g0, probs, top, top_probs):
    """The readout of one prediction (inlined into :func:`backprop_kernel`): ``probs``, ``top``,
    ``top_probs`` and ``g0``."""
    H = h.shape[0]
    sums = np.empty(256, h.dtype)
    for k in range(256):
        sums[k] = by[k]
    add_product(sums, WyT, h, False)
    logits = np.empty(256, np.float64)
    finite = True
    for k in range(256):
        logits[k] = sums[k]
        finite &= np.isfinite(sums[k])
    if not finite:  # readout weights near float32's largest: |h| <= 1 keeps float64 logits finite
        for k in range(256):
            logits[k] = by[k]
        for j in range(H):
            hj = np.float64(h[j])
            row = WyT[j]
            for k in range(256):
                logits[k] += row[k] * hj
    most = logits[0]
    for k in range(1, 256):
        most = max(most, logits[k])
    weights = np.empty(256, np.float64)
    total = 0.0
    lowest = 0.0
    for k in range(256):
        x = logits[k] - most
        lowest = min(lowest, x)
        weights[k] = softmax_exp(x, h)
    if lowest < EXP_LOWEST:  # exp_f32 stops at exp(-87): the few smaller ones exactly
        for k in range(256):
            if logits[k] - most < EXP_LOWEST:
                weights[k] = np.exp(logits[k] - most)
    for k in range(256):
        total += weights[k]
    for k in range(256):
        p = weights[k] / total
        probs[k] = p
        sums[k] = (1.0 if k == target else 0.0) - p  # the buffer now takes onehot - p
    if contrast >= 0:
        for j in range(H):
            g0[j] = np.float64(Wy[target, j]) - np.float64(Wy[contrast, j])
    else:
        for j in range(H):
            g0[j] = 0
        add_product(g0, Wy, sums, False)
    n, filled = top.shape[0], 0
    for k in range(256):  # insertion into ``top``, kept in descending order of the logits
        if filled < n:
            filled += 1
        elif n == 0 or not logits[k] > logits[top[n - 1]]:
            continue
        i = filled - 1
        while i > 0 and logits[top[i - 1]] < logits[k]:
            top[i] = top[i - 1]
            i -= 1
        top[i] = k
    for i in range(n):
        top_probs[i] = probs[top[i]]


@njit(**BLOCK_FLAGS)
def backprop_kernel(Wh, WxT, WyT, Wy, by, states, inputs, target, contrast, out, stats, probs, top, top_probs):
    """One prediction, from its readout back K offsets, in one call.

    ``states[k] = h_{t-k}`` and ``inputs[k] = x_{t-k}`` for k = 0..K, in offset order like every
    output (LLVM's overlap test of a loop's arrays gives up when one of them steps backwards, and
    the loop then runs scalar).

    The readout: ``probs = softmax(Wy @ h_t + by)`` (float64, exponentials by :func:`softmax_exp`;
    a logit that is not finite has all of them summed again in float64, where ``|h| <= 1`` keeps
    them finite), ``top`` the ``len(top)`` most probable bytes (most probable first, the lower
    byte on ties) and ``top_probs`` their probabilities; ``g_0 = Wy^T (onehot(target) - probs)``,
    or with ``contrast >= 0`` the float64 difference ``Wy[target] - Wy[contrast]``. Both readout
    products go through :func:`add_product` in the model's dtype (``WyT`` (H, 256) and ``Wy``
    (256, H) are both given so that each is a sum of contiguous rows).

    Then ``out[0, k] = g_k``, ``out[1, k] = g_k * h_{t-k}``, ``out[2, k] = g_k^2`` with
    ``g_{k+1} = Wh^T ((1 - h_{t-k}^2) * g_k)`` by :func:`add_product` (rows in descending order at
    odd k); ``stats[0, k] = ||g_k||``, ``stats[1, k] = ||g_k|| / ||g_0||`` (NaN unless
    ``0 < ||g_0|| < inf``), ``stats[2, k] = g_k . Wx[:, x_{t-k}]`` and ``stats[3, k] = ((1 -
    h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]``.
    """
    K = out.shape[1] - 1
    H = states.shape[1]
    grads, neuron, energy = out[0], out[1], out[2]
    _readout(WyT, Wy, by, states[0], target, contrast, grads[0], probs, top, top_probs)
    v = np.empty(H, out.dtype)
    for k in range(K + 1):
        h = states[k]
        g = grads[k]
        sq, a, a_exact = _offset_sums(g, h, WxT[inputs[k]], v)
        stats[0, k] = np.sqrt(sq)
        stats[2, k] = a
        stats[3, k] = a_exact
        by_unit, squares = neuron[k], energy[k]
        for j in range(H):
            by_unit[j] = g[j] * h[j]
            squares[j] = g[j] * g[j]
        if k == K:
            break
        nxt = grads[k + 1]
        for i in range(H):
            nxt[i] = 0
        add_product(nxt, Wh, v, k % 2 == 1)
    first = stats[0, 0]
    for k in range(K + 1):
        stats[1, k] = stats[0, k] / first if 0 < first < np.inf else np.nan
    return out


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
                sq, a, a_exact = _offset_sums(g, h, w, v)
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
        states = np.zeros((K + 3, H), dtype)
        WyT, Wy = read_only(np.zeros((H, 256), dtype)), read_only(np.zeros((256, H), dtype))
        backprop_kernel(Wh, WxT, WyT, Wy, read_only(np.zeros(256, dtype)), states[:K + 1], xs[:K + 1], 0, -1,
                        np.empty((3, K + 1, H), dtype), np.empty((4, K + 1), dtype), np.empty(256, dtype),
                        np.empty(5, np.uint8), np.empty(5, dtype))
        stats = np.zeros((3, K + 1, 3), dtype)
        offsets_kernel(np.zeros((3, H), dtype), states, xs, WxT, Wh, 0, stats, np.zeros((K + 1, H)))
        top_share_kernel(np.zeros((3, H), dtype), 2, np.empty(3, dtype))
    matrix_product(np.zeros((K + 1, H), np.float32), np.zeros((H, 256), np.float32))  # both readout products
    matrix_product(np.zeros((K + 1, 256), np.float32), np.zeros((256, H), np.float32))
