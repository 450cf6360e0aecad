"""Exact gradient attribution of one prediction back through time (the research's "sparse diff").

Definitions (natural log, so gradients are in nats per unit of hidden state; all exact):

- the prediction made at position t is ``p_t = softmax(Wy @ h_t + by)``, of the byte ``x_{t+1}``
  unless another ``target`` byte is chosen;
- ``g_0 = d ln p_t[target] / d h_t = Wy^T (onehot(target) - p_t)``; for a contrast of the target a
  with a byte b, the quantity is ``ln p_t[a] - ln p_t[b]`` and ``g_0 = Wy[a] - Wy[b]`` (the softmax's
  normaliser cancels), followed back by the same recursion;
- ``g_{k+1} = Wh^T ((1 - h_{t-k}^2) * g_k)``, so ``g_k = d ln p_t[target] / d h_{t-k}`` for
  k = 0..K, with K cut to t (there is no state before the start of the text).

From the gradients: the offset profile ``||g_k||`` and its growth ``||g_k|| / ||g_0||``; the input
attribution of the byte read at t-k, ``a_k = g_k . Wx[:, x_{t-k}]`` (the research's definition,
without the tanh' factor) and the exact one ``((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]`` (the
derivative of ln p with respect to a step along the byte's input column); the neuron attribution
``g_k * h_{t-k}`` and the gradient energy ``g_{k,j}^2``.

The states come from the session (``Session.states``), so a cursor move costs one readout and
one numba kernel call (K matrix-vector products with each offset's statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from factormap.engine.config import PROB_FLOOR, VOCAB
from factormap.engine.errors import ModelError
from factormap.engine.forward import kernel_weights
from factormap.engine.kernels.backprop import backprop_kernel
from factormap.engine.kernels.block_backprop import matrix_product
from factormap.engine.model import Model
from factormap.engine.session import Session

#: Offsets followed back by default (the research's table goes to 64).
DEFAULT_K = 64

#: Deepest offset the commands accept (a prediction's attribution costs K matrix-vector products).
MAX_K = 4096


def readout_gradients(model: Model, states: np.ndarray, targets) -> tuple[np.ndarray, np.ndarray]:
    """``g_0`` for a block of predictions, and their probabilities.

    Parameters
    ----------
    model : Model
    states : ndarray, shape (n, H)
        ``h_t`` of each prediction, in the model's dtype.
    targets : array of int, shape (n,)
        The byte whose log-probability is differentiated, per row.

    Returns
    -------
    grads : ndarray, shape (n, H)
        ``Wy^T (onehot(target) - p_t)`` per row: ``d ln p_t[target] / d h_t``.
    probs : ndarray, shape (n, 256)
        ``p_t = softmax(Wy @ h_t + by)`` per row.

    Raises
    ------
    ModelError
        A gradient is beyond the model's float range (readout weights near float32's largest).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing rows are redone in float64 below
        probs = matrix_product(states, model.WyT)  # not BLAS: a sweep's shards then give the serial bits
        probs += model.by
    overflowed = ~np.isfinite(probs).all(axis=1)
    if overflowed.any():
        # Logits past float32's range (inf - inf would be NaN); |h| <= 1 keeps them finite in float64.
        wide = states[overflowed].astype(np.float64) @ model.WyT.astype(np.float64) + model.by
        probs[overflowed] = wide - wide.max(axis=1, keepdims=True)
    probs -= probs.max(axis=1, keepdims=True)
    np.exp(probs, out=probs)
    probs /= probs.sum(axis=1, keepdims=True)
    residual = -probs
    residual[np.arange(states.shape[0]), np.asarray(targets, np.int64)] += 1
    with np.errstate(over="ignore", invalid="ignore"):
        grads = matrix_product(residual, model.Wy)
    if not np.isfinite(grads).all():
        raise ModelError(f"{model.source}: the readout's gradients overflow {model.dtype} (its weights are too "
                         f"large for it); load the model as float64")
    return grads, probs


@dataclass(frozen=True, eq=False)
class Attribution:
    """The exact backward attribution of the prediction made at position ``t``.

    Row k of every (K+1, ...) array belongs to offset k, i.e. to position t-k.

    Attributes
    ----------
    t : int
        Position of the prediction (it is made from ``h_t``).
    target : int
        The byte whose log-probability is differentiated (``x_{t+1}`` unless chosen).
    K : int
        Deepest offset computed: ``min(K asked, t)``.
    prob : float
        ``p_t[target]``.
    bits : float
        ``-log2 max(prob, 1e-8)``.
    top_bytes, top_probs : ndarray, shape (5,)
        The five most probable next bytes under ``p_t`` (most probable first) and their probabilities.
    inputs : ndarray of uint8, shape (K+1,)
        ``x_{t-k}``, the byte read at offset k.
    states : ndarray, shape (K+1, H)
        ``h_{t-k}``.
    grads : ndarray, shape (K+1, H)
        ``g_k = d ln p_t[target] / d h_{t-k}`` (nats).
    grad_norms : ndarray, shape (K+1,)
        ``||g_k||`` (Euclidean).
    growth : ndarray, shape (K+1,)
        ``||g_k|| / ||g_0||`` (NaN if ``g_0 = 0`` or ``||g_0||`` overflows to inf).
    input_attr : ndarray, shape (K+1,)
        ``a_k = g_k . Wx[:, x_{t-k}]``, the research's input attribution (no tanh' factor).
    input_attr_exact : ndarray, shape (K+1,)
        ``((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]``, the exact derivative of ln p along the input
        column of the byte read at t-k.
    neuron_attr : ndarray, shape (K+1, H)
        ``g_k * h_{t-k}`` (elementwise).
    energy : ndarray, shape (K+1, H)
        ``g_{k,j}^2``.
    contrast : int or None
        The byte b of a contrast: the gradients are of ``ln p_t[target] - ln p_t[b]``; None for
        ``ln p_t[target]`` alone.
    contrast_prob : float or None
        ``p_t[contrast]`` (None without a contrast).
    """

    t: int
    target: int
    K: int
    prob: float
    bits: float
    top_bytes: np.ndarray
    top_probs: np.ndarray
    inputs: np.ndarray
    states: np.ndarray
    grads: np.ndarray
    grad_norms: np.ndarray
    growth: np.ndarray
    input_attr: np.ndarray
    input_attr_exact: np.ndarray
    neuron_attr: np.ndarray
    energy: np.ndarray
    contrast: int | None = None
    contrast_prob: float | None = None

    @property
    def value(self) -> float:
        """The attributed quantity itself, in nats: ``ln p_t[target]``, or ``ln p_t[target] -
        ln p_t[contrast]`` for a contrast (each probability floored at ``PROB_FLOOR``)."""
        value = math.log(max(self.prob, PROB_FLOOR))
        if self.contrast_prob is not None:
            value -= math.log(max(self.contrast_prob, PROB_FLOOR))
        return value

    @property
    def quantity(self) -> str:
        """What the gradients are of, named with the bytes (``ln p('e')`` or ``ln p('e') − ln p('a')``)."""
        name = f"ln p({_byte_name(self.target)})"
        return name if self.contrast is None else f"{name} − ln p({_byte_name(self.contrast)})"

    def top_share(self, n: int, k: int = 0) -> float:
        """``sum of the n largest g_{k,j}^2 / sum_j g_{k,j}^2``: the energy share of the top-n neurons."""
        e = np.sort(self.energy[k])[::-1]
        total = float(e.sum())
        return float(e[:n].sum()) / total if total > 0 else math.nan

    def top_neurons(self, n: int = 10, k: int | None = None) -> np.ndarray:
        """Indices of the ``n`` neurons with the largest energy, largest first.

        At offset ``k``, ranked by ``g_{k,j}^2``; with ``k=None``, by ``sum_k g_{k,j}^2``.
        """
        e = self.energy.sum(axis=0) if k is None else self.energy[k]
        return np.argsort(-e, kind="stable")[:n]

    def to_dict(self) -> dict:
        """JSON-ready figures (per-offset lists; the (K+1, H) arrays are left out)."""
        return {
            "t": self.t, "target": self.target, "contrast": self.contrast, "max_offset": self.K, "prob": self.prob,
            "bits": self.bits, "contrast_prob": self.contrast_prob, "value": self.value,
            "top_bytes": self.top_bytes.tolist(), "top_probs": self.top_probs.tolist(),
            "inputs": self.inputs.tolist(),
            "grad_norm": self.grad_norms.tolist(), "growth": self.growth.tolist(),
            "input_attr": self.input_attr.tolist(), "input_attr_exact": self.input_attr_exact.tolist(),
            "energy": {"top10_share_k0": self.top_share(10), "top_neurons": self.top_neurons(10).tolist()},
        }


def _check_position(session: Session, t, target, K) -> tuple[int, int, int]:
    t = int(t)
    if not 0 <= t < session.n:
        raise ValueError(f"position {t} is outside the text, which has positions 0..{session.n - 1}")
    if int(K) < 0:
        raise ValueError(f"K must be 0 or more, got {K}")
    if target is None:
        if t == session.n - 1:
            raise ValueError(f"position {t} is the last byte of the text, so there is no next byte to "
                             f"attribute; choose a target byte")
        target = int(session.x[t + 1])
    elif not 0 <= int(target) < VOCAB:
        raise ValueError(f"target must be a byte value 0..255, got {target}")
    return t, int(target), min(int(K), t)


def _byte_name(byte: int) -> str:
    return repr(chr(byte)) if 0x20 <= byte < 0x7F else f"0x{byte:02x}"


def attribution(session: Session, t: int, K: int = DEFAULT_K, target: int | None = None, *,
                contrast: int | None = None) -> Attribution:
    """Exact gradients of ``ln p_t[target]`` with respect to ``h_t, h_{t-1}, .., h_{t-K}``.

    Parameters
    ----------
    session : Session
        The model and text; its states are reused.
    t : int
        Position of the prediction, 0..n-1.
    K : int
        Deepest offset; cut to t, so offsets never reach past the start of the text.
    target : int, optional
        Byte to attribute; defaults to ``x_{t+1}``, and is required at t = n-1.
    contrast : int, optional
        A byte b: attribute ``ln p_t[target] - ln p_t[b]`` instead (``g_0 = Wy[target] - Wy[b]``).

    Returns
    -------
    Attribution
        In the model's dtype (float64 models give float64 gradients).

    Raises
    ------
    ValueError
        ``t`` outside the text, no next byte and no target, a target or contrast outside 0..255,
        a contrast equal to the target, or K < 0.
    """
    t, target, K = _check_position(session, t, target, K)
    if contrast is not None and not (0 <= int(contrast) < VOCAB and int(contrast) != target):
        raise ValueError(f"the contrast must be a byte value 0..255 other than the target {target}, got {contrast}")
    model = session.model
    w = kernel_weights(model)
    states = session.states(t - K, t + 1)[::-1].copy()  # h_{t-k} at row k, the kernel's order
    inputs = session.x[t - K:t + 1][::-1].copy()
    grads = np.empty((3, K + 1, model.H), model.dtype)  # g_k, g_k * h_{t-k}, g_k^2
    stats = np.empty((4, K + 1), model.dtype)  # ||g_k||, growth, a_k, exact a_k
    p, top, top_probs = np.empty(VOCAB, model.dtype), np.empty(5, np.uint8), np.empty(5, model.dtype)
    backprop_kernel(w.Wh, w.WxT, w.WyT, w.Wy, w.by, states, inputs, target, -1 if contrast is None else int(contrast),
                    grads, stats, p, top, top_probs)
    prob = float(p[target])
    # Filled in one step rather than by the frozen dataclass's __init__, which sets its 18 fields one
    # object.__setattr__ at a time (4 us, a tenth of the whole call); the object is the same.
    result = object.__new__(Attribution)
    result.__dict__.update(
        t=t, target=target, K=K, prob=prob, bits=-math.log2(max(prob, PROB_FLOOR)),
        top_bytes=top, top_probs=top_probs, inputs=inputs, states=states,
        grads=grads[0], grad_norms=stats[0], growth=stats[1],
        input_attr=stats[2], input_attr_exact=stats[3], neuron_attr=grads[1], energy=grads[2],
        contrast=None if contrast is None else int(contrast),
        contrast_prob=None if contrast is None else float(p[int(contrast)]),
    )
    return result
