"""Backpropagation through the tanh recurrence for one prediction, in one kernel call.

With ``h_s = tanh(bh + Wx[:, x_s] + Wh @ h_{s-1})``, a gradient ``g = d L / d h_s`` becomes
``d L / d h_{s-1} = Wh^T ((1 - h_s^2) * g)``. ``Wh^T v`` is computed as the sum of the rows of
``Wh`` scaled by ``v[j]`` (``Wh`` is C-contiguous), the same vectorisable layout as the forward
kernel in :mod:`factormap.engine.kernels.recurrence`, by :func:`add_product` (float32 accumulators
in registers, the rows in alternating order from one offset to the next). A block of predictions
at once (the attribution summary) is :mod:`factormap.engine.kernels.block_backprop`, which shares
:func:`offset_sums` and :data:`BLOCK_FLAGS`; the two are compiled apart, so that on a first run the
app and the child warm-up process can take one each (:mod:`factormap.engine.warmup`).
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only
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
def offset_sums(g, h, w, v):
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
        sq, a, a_exact = offset_sums(g, h, WxT[inputs[k]], v)
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


def warm(exact: bool = True) -> None:
    """Compile :func:`backprop_kernel` for float32 models and, with ``exact``, float64 ones, with
    read-only weights as models hold them."""
    H, K = 5, 2
    xs = np.zeros(K + 1, np.uint8)
    for dtype in (np.float32, np.float64)[:1 + exact]:
        Wh, WxT = read_only(np.zeros((H, H), dtype)), read_only(np.zeros((256, H), dtype))
        WyT, Wy = read_only(np.zeros((H, 256), dtype)), read_only(np.zeros((256, H), dtype))
        backprop_kernel(Wh, WxT, WyT, Wy, read_only(np.zeros(256, dtype)), np.zeros((K + 1, H), dtype), xs, 0, -1,
                        np.empty((3, K + 1, H), dtype), np.empty((4, K + 1), dtype), np.empty(256, dtype),
                        np.empty(5, np.uint8), np.empty(5, dtype))
