"""The forward pass: hidden states for a byte sequence, and the bits of each next-byte prediction.

Definitions (the same everywhere in factormap):

- ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})`` with ``h_{-1} = 0`` (or a given ``h0``);
- ``p_t = softmax(Wy @ h_t + by)`` is the prediction made at position t, of the byte ``x_{t+1}``;
- ``bits_t = -log2 max(p_t[x_{t+1}], 1e-8)``; BPC is the mean of ``bits_t`` over t = 0..N-2.

The recurrence runs in a numba kernel (float32 with a vectorised rational tanh; float64 models use
libm tanh for exact checks). The readout of float32 states is a numba kernel that accumulates the
logits of six positions at a time in registers and reduces them with a vectorised exp; float64 goes through numpy.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from factormap.engine.config import PROB_FLOOR, VOCAB
from factormap.engine.kernels import aligned_copy, read_only
from factormap.engine.kernels.logit_tile import panels
from factormap.engine.kernels.readout import readout_kernel
from factormap.engine.kernels.recurrence import recur_exact_kernel, recur_fast_kernel
from factormap.engine.kernels.state_edits import no_edits
from factormap.engine.model import Model

LOG_FLOOR = math.log(PROB_FLOOR)


def as_bytes_array(x) -> np.ndarray:
    """A uint8 array view of ``bytes``/``bytearray``/array input (no copy for bytes)."""
    if isinstance(x, (bytes, bytearray, memoryview)):
        return np.frombuffer(x, dtype=np.uint8)
    arr = np.asarray(x)
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError("byte values must lie in 0..255")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)


def recur(model: Model, x, h0: np.ndarray | None = None, *, exact: bool | None = None,
          out: np.ndarray | None = None) -> np.ndarray:
    """Hidden states ``h_t`` for every byte of ``x``, shape (len(x), H), in the model's dtype.

    The fast float32 kernel sums ``Wh @ h`` in one row order at even steps of ``x`` and in the
    reverse order at odd ones (:mod:`factormap.engine.kernels.recurrence`), so a run continued from
    a state repeats another run's states bit for bit when both start at positions of the same parity.

    Parameters
    ----------
    model
        the weights.
    x
        bytes (or a uint8 array).
    h0
        the state before ``x[0]`` (``h_{-1}``); zeros when omitted.
    exact
        use libm tanh instead of the rational approximation; default: only for float64 models.
    out
        optional preallocated (len(x), H) array to write into.
    """
    xs = read_only(as_bytes_array(x))
    dtype = model.dtype
    h = read_only(np.zeros(model.H, dtype) if h0 is None else np.ascontiguousarray(h0, dtype=dtype))
    if h.shape != (model.H,):
        raise ValueError(f"h0 has shape {h.shape}, expected ({model.H},)")
    if out is None:
        out = np.empty((xs.shape[0], model.H), dtype)
    elif out.shape != (xs.shape[0], model.H) or out.dtype != dtype:
        raise ValueError(f"out is {out.dtype}{out.shape}, expected {np.dtype(dtype)}{(xs.shape[0], model.H)}")
    if xs.shape[0] == 0:
        return out
    if exact is None:
        exact = dtype != np.float32
    kernel = recur_exact_kernel if exact or dtype != np.float32 else recur_fast_kernel
    w = kernel_weights(model)
    kernel(w.WxT, w.WhT, w.bh, xs, h, no_edits(model.H, dtype), out)
    return out


@dataclass(frozen=True)
class Readout:
    """Per-position prediction statistics for a block of states.

    Attributes
    ----------
    bits
        ``-log2 max(p_t[target_t], 1e-8)`` (float32; float64 for float64 states); NaN where
        there is no target.
    pred_byte
        ``argmax p_t`` (uint8), the byte the model finds most likely next.
    pred_prob
        ``max p_t`` (float32; float64 for float64 states), its probability.
    """

    bits: np.ndarray
    pred_byte: np.ndarray
    pred_prob: np.ndarray


def readout(model: Model, states: np.ndarray, targets) -> Readout:
    """Log-softmax statistics of ``Wy @ h_t + by`` for each row of ``states``.

    Parameters
    ----------
    states
        (n, H) hidden states.
    targets
        (n,) target byte of each row, or -1 where there is none (bits become NaN).
    """
    n = states.shape[0]
    dtype = np.float64 if states.dtype == np.float64 else np.float32  # float64 figures stay unrounded
    out = Readout(bits=np.empty(n, dtype), pred_byte=np.empty(n, np.uint8), pred_prob=np.empty(n, dtype))
    readout_into(model, states, targets, out.bits, out.pred_byte, out.pred_prob)
    return out


def readout_into(model: Model, states: np.ndarray, targets, bits: np.ndarray, pred_byte: np.ndarray,
                 pred_prob: np.ndarray) -> None:
    """:func:`readout` written into given arrays (``bits`` may be shorter than ``states``: the rows
    past its end get only ``pred_byte`` and ``pred_prob``).

    float32 states of a float32 model go through one numba kernel (the logits accumulated in
    register tiles of six positions, exp approximated to 3e-7 relative); rows whose logits could be too large
    for float32 sums to keep the bits' accuracy (bound ``max|by| + sum_j |h_j| max_k |Wy[k, j]|``
    above :data:`~factormap.engine.kernels.readout.FLOAT32_LOGIT_LIMIT`), and anything not float32,
    through numpy in float64, the exact reference path.
    """
    n = states.shape[0]
    tg = np.ascontiguousarray(targets, dtype=np.int64)
    if tg.shape != (n,) or states.ndim != 2 or states.shape[1] != model.H:
        raise ValueError(f"states {states.shape} and targets {tg.shape} do not match H = {model.H}")
    if n == 0:
        return
    if tg.max() >= VOCAB:
        raise ValueError(f"targets must be bytes (0..255) or -1, got {tg.max()}")
    if states.dtype == np.float32 and model.dtype == np.float32:
        w = kernel_weights(model)
        readout_kernel(w.WyT_panels, w.by, w.logit_bound, read_only(np.ascontiguousarray(states)),
                       read_only(tg), bits, pred_byte, pred_prob)
        rows = np.flatnonzero(np.isnan(pred_prob))
    else:
        rows = np.arange(n)
    if rows.size:
        row_bits, pred_byte[rows], pred_prob[rows] = _readout_float64(model, states[rows], tg[rows])
        inside = rows < bits.shape[0]
        bits[rows[inside]] = row_bits[inside]


class KernelWeights:
    """A model's arrays as the kernels stream them: read-only, C-contiguous, cache-line aligned.

    Each is copied when first asked for: a model made for one run (a weight edit, or a readout
    with edits folded in) uses only some of them, and copying all eight cost a 1 KB edited run
    more than its readout.
    """

    def __init__(self, model: Model, like: "KernelWeights | None" = None) -> None:
        # the model's arrays, not the model: the cache below maps the model to this weakly
        self._Wx, self._Wh, self._bh, self._Wy, self._by = model.Wx, model.Wh, model.bh, model.Wy, model.by
        if like is not None:  # the copies ``like`` made of arrays this model shares (Model.replace)
            for name, sources in _COPIED_FROM.items():
                if name in vars(like) and all(getattr(self, a) is getattr(like, a) for a in sources):
                    vars(self)[name] = vars(like)[name]

    @cached_property
    def WxT(self) -> np.ndarray:
        """(256, H) ``Wx`` transposed."""
        return aligned_copy(self._Wx.T)

    @cached_property
    def WhT(self) -> np.ndarray:
        """(H, H) ``Wh`` transposed."""
        return aligned_copy(self._Wh.T)

    @cached_property
    def bh(self) -> np.ndarray:
        """(H,) hidden bias."""
        return aligned_copy(self._bh)

    @cached_property
    def WyT(self) -> np.ndarray:
        """(H, 256) ``Wy`` transposed."""
        return aligned_copy(self._Wy.T)

    @cached_property
    def WyT_panels(self) -> np.ndarray:
        """``WyT`` as the readout kernel streams it: (256 // PANEL, H, PANEL) panels
        (:func:`~factormap.engine.kernels.logit_tile.panels`)."""
        return panels(self._Wy.T)

    @cached_property
    def by(self) -> np.ndarray:
        """(256,) readout bias."""
        return aligned_copy(self._by)

    @cached_property
    def logit_bound(self) -> np.ndarray:
        """(H + 1,) float32 ``max_k |Wy[k, j]|`` for each j, then ``max_k |by[k]|``."""
        return aligned_copy(np.append(np.abs(self._Wy).max(axis=0), np.abs(self._by).max()).astype(np.float32))

    @cached_property
    def Wh(self) -> np.ndarray:
        """(H, H) ``Wh`` (backpropagation sums its rows)."""
        return aligned_copy(self._Wh)

    @cached_property
    def Wy(self) -> np.ndarray:
        """(256, H) ``Wy`` (the readout gradient sums its rows)."""
        return aligned_copy(self._Wy)


#: Each copy of :class:`KernelWeights`, by the model arrays it is made from.
_COPIED_FROM = {"WxT": ("_Wx",), "WhT": ("_Wh",), "bh": ("_bh",), "WyT": ("_Wy",), "WyT_panels": ("_Wy",),
                "by": ("_by",), "logit_bound": ("_Wy", "_by"), "Wh": ("_Wh",), "Wy": ("_Wy",)}


def kernel_weights(model: Model, like: Model | None = None) -> KernelWeights:
    """The model's :class:`KernelWeights`, made once per model (kept while the model lives).

    ``like``: a model that ``model`` was made from by :meth:`Model.replace`; when the weights are
    made here, those of the arrays both share are the copies ``like``'s weights have made already
    (a weight-edited run re-copied ``WxT``, 42 us of a 1.5 ms pass of 1 KB).
    """
    weights = _KERNEL_WEIGHTS.get(model)
    if weights is None:
        like_weights = None if like is None else kernel_weights(like)
        weights = _KERNEL_WEIGHTS.setdefault(model, KernelWeights(model, like_weights))
    return weights


_KERNEL_WEIGHTS: weakref.WeakKeyDictionary[Model, KernelWeights] = weakref.WeakKeyDictionary()


def _readout_float64(model: Model, states: np.ndarray, tg: np.ndarray):
    """(bits, pred_byte, pred_prob) of the rows of ``states``, in float64 (numpy)."""
    logits = states.astype(np.float64, copy=False) @ model.WyT.astype(np.float64, copy=False)
    logits += model.by
    rows = np.arange(states.shape[0])
    pred = logits.argmax(axis=1)
    logits -= logits[rows, pred][:, None]
    has_target = tg >= 0
    target_logit = logits[rows, np.where(has_target, tg, 0)]
    np.exp(logits, out=logits)
    total = logits.sum(axis=1)
    logp = target_logit - np.log(total)
    all_bits = -np.maximum(logp, LOG_FLOOR) / math.log(2.0)
    all_bits[~has_target] = np.nan
    return all_bits, pred, 1.0 / total


@dataclass(frozen=True)
class ForwardResult:
    """The whole forward pass over a (small) byte sequence.

    Attributes
    ----------
    states
        (N, H) hidden states h_t.
    bits
        (N-1,) bits of the prediction made at t of byte t+1.
    pred_byte
        (N,) most likely next byte after each position.
    pred_prob
        (N,) its probability.
    """

    states: np.ndarray
    bits: np.ndarray
    pred_byte: np.ndarray
    pred_prob: np.ndarray

    @property
    def bpc(self) -> float:
        """Mean of ``bits`` (float64 accumulation); NaN for a sequence of fewer than 2 bytes."""
        return float(np.mean(self.bits, dtype=np.float64)) if self.bits.size else math.nan


def next_targets(xs: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Target byte of each position in [start, stop): ``x[t+1]``, or -1 past the end."""
    tg = np.full(stop - start, -1, dtype=np.int64)
    last = min(stop, xs.shape[0] - 1)
    if last > start:
        tg[: last - start] = xs[start + 1: last + 1]
    return tg


def forward(model: Model, x, h0: np.ndarray | None = None, *, exact: bool | None = None) -> ForwardResult:
    """States, bits and predictions for all of ``x`` at once (keeps N x H states: small texts only).

    For long texts use :class:`factormap.engine.Session`, which streams in chunks.
    """
    xs = as_bytes_array(x)
    states = recur(model, xs, h0, exact=exact)
    ro = readout(model, states, next_targets(xs, 0, xs.shape[0]))
    return ForwardResult(states=states, bits=ro.bits[:-1] if xs.shape[0] else ro.bits,
                         pred_byte=ro.pred_byte, pred_prob=ro.pred_prob)


def warm(exact: bool = True) -> None:
    """Compile the recurrence and readout for float32 models and, with ``exact``, for float64 ones
    and ``exact=True`` runs (fills numba's cache)."""
    rng = np.random.default_rng(0)
    H = 9
    arrays = dict(Wx=rng.normal(size=(H, 256)), Wh=rng.normal(size=(H, H)), bh=np.zeros(H),
                  Wy=rng.normal(size=(256, H)), by=np.zeros(256))
    text = bytes(range(40, 50))
    for dtype in (np.float32, np.float64)[:1 + exact]:
        model = Model(**{k: v.astype(dtype) for k, v in arrays.items()}, source="warm-up")
        forward(model, text)
        if exact:
            forward(model, text, exact=True)
