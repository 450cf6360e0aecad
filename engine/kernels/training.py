"""Truncated-BPTT training of the tanh RNN: one kernel call trains a run of consecutive segments.

The weights live in one flat vector ``theta`` in the transposed layout the loops stream
(see :data:`PARAM_SHAPES`): ``WxT`` (256, H), ``WhT`` (H, H), ``bh`` (H,), ``WyT`` (H, 256),
``by`` (256,). Every inner loop runs over a contiguous row, so it vectorises; the readout and its
gradient are written as per-segment matrix products (row axpys and dot products), not per-step
matrix-vector calls. Everything runs on one thread, so a given input gives the same bits every time.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS
from factormap.engine.kernels.fastmath import exp_f32, tanh_f32


class KernelSettings(NamedTuple):
    """Constants of one training run, passed to the kernel as a tuple.

    Attributes
    ----------
    hidden
        H.
    bptt
        T, the length of a segment (positions whose prediction is trained).
    clip
        the global gradient norm is scaled down to at most this (0: no clipping).
    adam
        Adam updates instead of plain SGD.
    beta1, beta2, eps
        Adam's constants.
    exact_math
        libm tanh and exp (float64 gradient checks) instead of the float32 approximations
        of the engine's forward pass (``tanh_f32``, ``exp_f32``).
    """

    hidden: int
    bptt: int
    clip: float
    adam: bool
    beta1: float
    beta2: float
    eps: float
    exact_math: bool


class TrainState(NamedTuple):
    """The mutable arrays of a run: weights, Adam moments (2, n) and the carried hidden state."""

    theta: np.ndarray
    moments: np.ndarray
    h: np.ndarray


#: No ``reassoc`` or ``contract``: every sum runs in source order and no product is fused, so the
#: gradients do not depend on how LLVM vectorised a loop. With them, a kernel loaded from numba's
#: cache and the same kernel compiled fresh gave different bits, so a first (cold) and second
#: (warm) run of the same ``train`` command wrote different models.
TRAIN_FLAGS = dict(NUMBA_FLAGS, fastmath={"nnan", "ninf", "nsz"}, error_model="numpy")


def param_shapes(hidden: int) -> tuple[tuple[int, ...], ...]:
    """Shapes of WxT, WhT, bh, WyT, by in ``theta`` order."""
    return ((256, hidden), (hidden, hidden), (hidden,), (hidden, 256), (256,))


@njit(**TRAIN_FLAGS)
def _views(theta, H):
    a = 256 * H
    b = a + H * H
    c = b + H
    d = c + H * 256
    return (theta[:a].reshape((256, H)), theta[a:b].reshape((H, H)), theta[b:c],
            theta[c:d].reshape((H, 256)), theta[d:d + 256])


@njit(**TRAIN_FLAGS)
def _tanh_into(pre, out, exact):
    if exact:
        for i in range(pre.shape[0]):
            out[i] = np.tanh(pre[i])
    else:
        for i in range(pre.shape[0]):
            out[i] = tanh_f32(pre[i])


@njit(**TRAIN_FLAGS)
def _forward(theta, x, start, hs, exact):
    """States of the segment into ``hs[1:]`` from ``hs[0]`` (the state before ``x[start]``)."""
    WxT, WhT, bh, _, _ = _views(theta, hs.shape[1])
    H = hs.shape[1]
    pre = np.empty(H, theta.dtype)
    for t in range(hs.shape[0] - 1):
        xrow = WxT[x[start + t]]
        for i in range(H):
            pre[i] = bh[i] + xrow[i]
        for j in range(H):
            hj = hs[t, j]
            row = WhT[j]
            for i in range(H):
                pre[i] += row[i] * hj
        _tanh_into(pre, hs[t + 1], exact)


@njit(**TRAIN_FLAGS)
def _readout_grad(theta, grad, x, start, hs, dhs, exact):
    """Cross-entropy of each prediction (nats, summed); its gradient into ``grad`` and ``dhs``."""
    H = hs.shape[1]
    T = hs.shape[0] - 1
    _, _, _, WyT, by = _views(theta, H)
    _, _, _, gWyT, gby = _views(grad, H)
    dlogits = np.empty((T, 256), theta.dtype)
    nats = 0.0
    for t in range(T):
        z = dlogits[t]
        z[:] = by
        for j in range(H):
            hj = hs[t + 1, j]
            row = WyT[j]
            for k in range(256):
                z[k] += row[k] * hj
        zmax = z.max()
        target = x[start + t + 1]
        nats -= z[target] - zmax
        if exact:
            for k in range(256):
                z[k] = np.exp(z[k] - zmax)
        else:
            for k in range(256):
                z[k] = exp_f32(z[k] - zmax)
        total = z.sum()
        nats += np.log(total)
        inv = 1.0 / total
        for k in range(256):
            z[k] *= inv
        z[target] -= 1.0
        for k in range(256):
            gby[k] += z[k]
    for j in range(H):
        grow = gWyT[j]
        for t in range(T):
            hj = hs[t + 1, j]
            z = dlogits[t]
            for k in range(256):
                grow[k] += hj * z[k]
    # dL/dh_t = Wy^T z as a sum of rows of Wy scaled by z[k]: vectorises with no reassociation
    Wy = np.ascontiguousarray(WyT.T)
    for t in range(T):
        z = dlogits[t]
        d = dhs[t]
        d[:] = 0
        for k in range(256):
            zk = z[k]
            row = Wy[k]
            for j in range(H):
                d[j] += zk * row[j]
    return nats


@njit(**TRAIN_FLAGS)
def _backward(theta, grad, x, start, hs, dhs):
    """Backpropagate ``dhs`` (dL/dh_t from the readout) through the segment's recurrence."""
    H = hs.shape[1]
    _, WhT, _, _, _ = _views(theta, H)
    gWxT, gWhT, gbh, _, _ = _views(grad, H)
    da = np.empty(H, theta.dtype)
    dh_next = np.zeros(H, theta.dtype)
    Wh = np.ascontiguousarray(WhT.T)
    for t in range(hs.shape[0] - 2, -1, -1):
        h = hs[t + 1]
        for i in range(H):
            g = dhs[t, i] + dh_next[i]
            da[i] = g - g * h[i] * h[i]
            gbh[i] += da[i]
        gx = gWxT[x[start + t]]
        for i in range(H):
            gx[i] += da[i]
        for j in range(H):
            hpj = hs[t, j]
            grow = gWhT[j]
            for i in range(H):
                grow[i] += hpj * da[i]
        dh_next[:] = 0
        for i in range(H):
            di = da[i]
            row = Wh[i]
            for j in range(H):
                dh_next[j] += di * row[j]


@njit(**TRAIN_FLAGS)
def segment_grad_kernel(theta, grad, x, start, h, exact):
    """Loss (nats) of the predictions of ``x[start+1 .. start+T]`` and its gradient, added to ``grad``.

    T is ``len(x) - 1 - start`` capped by the caller via ``x``'s length; ``h`` is the state before
    ``x[start]`` and is overwritten with the state after the segment's last input.
    """
    H = h.shape[0]
    T = x.shape[0] - 1 - start
    hs = np.empty((T + 1, H), theta.dtype)
    hs[0] = h
    _forward(theta, x, start, hs, exact)
    dhs = np.empty((T, H), theta.dtype)
    nats = _readout_grad(theta, grad, x, start, hs, dhs, exact)
    _backward(theta, grad, x, start, hs, dhs)
    h[:] = hs[T]
    return nats


@njit(**TRAIN_FLAGS)
def _apply_update(state, grad, lr, step, cfg):
    """Clip ``grad`` to norm ``cfg.clip`` and take one SGD or Adam step (``step`` counts from 1)."""
    theta, moments, _ = state
    sq = 0.0
    for k in range(grad.shape[0]):
        sq += float(grad[k]) * float(grad[k])
    norm = np.sqrt(sq)
    scale = cfg.clip / norm if cfg.clip > 0.0 and norm > cfg.clip else 1.0
    if not cfg.adam:
        step_size = lr * scale
        for k in range(theta.shape[0]):
            theta[k] -= step_size * grad[k]
        return norm
    # the per-weight arithmetic runs in the weights' dtype, so float32 runs use float32 SIMD
    c = np.empty(6, theta.dtype)
    c[0] = cfg.beta1
    c[1] = 1.0 - cfg.beta1
    c[2] = cfg.beta2
    c[3] = 1.0 - cfg.beta2
    c[4] = lr / (1.0 - cfg.beta1 ** step)
    c[5] = np.sqrt(1.0 - cfg.beta2 ** step)
    b1, b1c, b2, b2c, alpha, root_bc2 = c[0], c[1], c[2], c[3], c[4], c[5]
    c[0] = scale
    c[1] = cfg.eps
    g_scale, eps = c[0], c[1]
    m, v = moments[0], moments[1]
    for k in range(theta.shape[0]):
        g = grad[k] * g_scale
        m[k] = b1 * m[k] + b1c * g
        v[k] = b2 * v[k] + b2c * g * g
        theta[k] -= alpha * m[k] / (np.sqrt(v[k]) / root_bc2 + eps)
    return norm


@njit(**TRAIN_FLAGS)
def train_segments_kernel(state, x, start, first_step, lrs, cfg, seg_nats):
    """Train ``len(lrs)`` consecutive segments of ``cfg.bptt`` positions from ``start``.

    Segment k predicts ``x[s+1 .. e]`` from inputs ``x[s .. e-1]`` with ``e = min(s + T, len(x) - 1)``,
    starting from the carried state ``state.h``; its gradient (truncated at the segment start) is
    clipped and applied with learning rate ``lrs[k]`` as optimiser step ``first_step + k``.
    Writes each segment's summed cross-entropy (nats) into ``seg_nats[k]``; returns the next start.
    """
    theta = state.theta
    grad = np.empty_like(theta)
    n = x.shape[0]
    s = start
    for k in range(lrs.shape[0]):
        e = min(s + cfg.bptt, n - 1)
        grad[:] = 0.0
        seg_nats[k] = segment_grad_kernel(theta, grad, x[:e + 1], s, state.h, cfg.exact_math)
        _apply_update(state, grad, lrs[k], first_step + k, cfg)
        s = e
    return s


def warm(exact: bool = True) -> None:
    """Compile the trainer's kernels for float32 weights and a read-only text (fills numba's cache;
    float64 gradient checks use the same signatures, so ``exact`` adds nothing)."""
    hidden = 2
    x = np.frombuffer(b"<a>b</a>", np.uint8)
    theta = np.zeros(sum(int(np.prod(s)) for s in param_shapes(hidden)), np.float32)
    state = TrainState(theta=theta, moments=np.zeros((2, theta.shape[0]), np.float32),
                       h=np.zeros(hidden, np.float32))
    settings = KernelSettings(hidden, 4, 5.0, True, 0.9, 0.999, 1e-8, False)
    train_segments_kernel(state, x, 0, 1, np.zeros(2), settings, np.empty(2))
    segment_grad_kernel(theta, np.zeros_like(theta), x, 0, np.zeros(hidden, np.float32), False)
