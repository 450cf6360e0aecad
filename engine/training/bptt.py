"""Truncated backpropagation through time: the trainer's weight layout, its initial weights, and
the exact gradient of one segment's loss.

The loss of a segment that reads ``x[0 .. T-1]`` from the state ``h0`` is the summed cross-entropy
in nats of its predictions,

    ``L = -sum_{t=0}^{T-1} ln softmax(Wy @ h_t + by)[x_{t+1}]``,
    ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})``,

with ``h_{-1} = h0`` held constant (no gradient flows into the previous segment). Unlike the
reported bits, the loss has no probability floor, so its gradient never vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.forward import as_bytes_array
from factormap.engine.kernels.training import param_shapes, segment_grad_kernel
from factormap.engine.model import ARRAY_NAMES, Model


def pack(model: Model) -> np.ndarray:
    """The weights as one flat vector in the kernels' layout: WxT, WhT, bh, WyT, by (model dtype)."""
    return np.concatenate([model.WxT.ravel(), model.WhT.ravel(), model.bh, model.WyT.ravel(), model.by])


def unpack(theta: np.ndarray, hidden: int, source: str = "<trained>") -> Model:
    """The :class:`Model` whose flat vector (see :func:`pack`) is ``theta`` (copied)."""
    parts, pos = [], 0
    for shape in param_shapes(hidden):
        size = int(np.prod(shape))
        parts.append(theta[pos:pos + size].reshape(shape))
        pos += size
    if pos != theta.shape[0]:
        raise ValueError(f"theta has {theta.shape[0]} values, H={hidden} needs {pos}")
    WxT, WhT, bh, WyT, by = parts
    return Model(Wx=WxT.T, Wh=WhT.T, bh=bh, Wy=WyT.T, by=by, source=source)


def init_model(hidden: int, seed: int) -> Model:
    """Random float32 starting weights drawn from ``numpy.random.default_rng(seed)``.

    ``Wx ~ N(0, 0.1^2)``, ``Wh ~ N(0, 1/H)`` (spectral radius near 1, so signals neither die nor
    explode at the start), ``Wy ~ N(0, 1/H)``, ``bh = by = 0``; drawn in that order.
    """
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(hidden)
    return Model(
        Wx=rng.normal(0.0, 0.1, (hidden, 256)).astype(np.float32),
        Wh=rng.normal(0.0, scale, (hidden, hidden)).astype(np.float32),
        bh=np.zeros(hidden, np.float32),
        Wy=rng.normal(0.0, scale, (256, hidden)).astype(np.float32),
        by=np.zeros(256, np.float32),
        source=f"init H={hidden} seed={seed}",
    )


@dataclass(frozen=True)
class SegmentGradient:
    """The loss of one segment and its gradient.

    Attributes
    ----------
    nats
        ``L``, the summed cross-entropy (natural log) of the segment's predictions.
    grads
        ``dL/dW`` for each of ``Wx, Wh, bh, Wy, by``, in the model's shapes and dtype.
    h_last
        the state after the segment's last input, ``h_{T-1}`` (where the next segment starts).
    """

    nats: float
    grads: dict[str, np.ndarray]
    h_last: np.ndarray


def segment_gradient(model: Model, x, h0: np.ndarray | None = None) -> SegmentGradient:
    """``L`` and ``dL/dW`` for the segment that reads ``x[:-1]`` and predicts ``x[1:]``.

    float64 models use libm tanh (exact, for gradient checks); float32 models use the rational
    tanh of the engine's forward pass, as the trainer does.
    """
    xs = as_bytes_array(x)
    if xs.shape[0] < 2:
        raise ValueError("a segment needs at least two bytes (one prediction)")
    h = np.zeros(model.H, model.dtype) if h0 is None else np.array(h0, dtype=model.dtype)
    if h.shape != (model.H,):
        raise ValueError(f"h0 has shape {h.shape}, expected ({model.H},)")
    grad = np.zeros_like(pack(model))
    nats = segment_grad_kernel(pack(model), grad, xs, 0, h, model.dtype == np.float64)
    as_model = unpack(grad, model.H)
    return SegmentGradient(nats=float(nats), grads={n: getattr(as_model, n) for n in ARRAY_NAMES}, h_last=h)
