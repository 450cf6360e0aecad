"""The Model: an immutable set of tanh-RNN weights (the sizes of a model of hidden size H are in
:mod:`factormap.engine.bin_format`).

The recurrence is ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})`` with ``h_{-1} = 0``, and ``h_t``
predicts ``x_{t+1}`` through ``softmax(Wy @ h_t + by)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from factormap.engine.bin_format import ARRAY_NAMES, array_shapes, float_count, nonfinite_error
from factormap.engine.checkpoints import arrays_from_state_dict, to_numpy
from factormap.engine.config import NEVER_PREDICTED_LOGIT
from factormap.engine.errors import ModelError


def _checked_array(name: str, value, hidden: int, dtype, source: str) -> np.ndarray:
    """``value`` as the model's array ``name``: a read-only C-contiguous copy in ``dtype``, ``-inf``
    in ``by`` stored as :data:`~factormap.engine.config.NEVER_PREDICTED_LOGIT`.

    Raises
    ------
    ModelError
        the shape is not the one of a model of hidden size ``hidden``, or a value is NaN or Inf.
    """
    shape = array_shapes(hidden)[name]
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ModelError(f"{source}: array {name} has shape {arr.shape}, expected {shape} for H={hidden}")
    arr = np.array(arr, dtype=dtype, order="C", copy=True)
    if name == "by":
        arr[np.isneginf(arr)] = NEVER_PREDICTED_LOGIT
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise nonfinite_error(source, bad, name)
    arr.setflags(write=False)
    return arr


#: The model's cached figures, each by the array it is derived from (:meth:`Model.replace` keeps
#: those of the arrays it keeps).
_DERIVED_FROM = {"WhT": "Wh", "WxT": "Wx", "WyT": "Wy", "spectral_radius": "Wh", "wh_frobenius": "Wh"}


@dataclass(frozen=True, eq=False)
class Model:
    """Weights of a byte-level tanh RNN with hidden size ``H``; read-only arrays.

    Attributes
    ----------
    Wx
        input weights, shape (H, 256); column ``Wx[:, b]`` is added when byte b is read.
    Wh
        recurrent weights, shape (H, H).
    bh
        hidden bias, shape (H,).
    Wy
        readout weights, shape (256, H).
    by
        readout bias, shape (256,).
    source
        where the weights came from (a path or a description), for display only.

    The arrays may be numpy arrays, torch tensors (detached and copied to the CPU) or any
    array-like. A ``-inf`` in ``by`` marks a byte the model never predicts: it is stored as
    :data:`~factormap.engine.config.NEVER_PREDICTED_LOGIT`, whose probability underflows to 0 in
    float32 and float64 alike, so its bits are the 1e-8 clamp and every kernel stays finite.
    """

    Wx: np.ndarray
    Wh: np.ndarray
    bh: np.ndarray
    Wy: np.ndarray
    by: np.ndarray
    source: str = "<memory>"

    def __post_init__(self) -> None:
        for name in ARRAY_NAMES:
            object.__setattr__(self, name, to_numpy(getattr(self, name)))
        hidden = self.Wh.shape[0] if self.Wh.ndim == 2 else -1
        if hidden < 1:
            raise ModelError(f"{self.source}: Wh must be a square matrix, got shape {np.shape(self.Wh)}")
        dtype = np.result_type(*(getattr(self, n).dtype for n in ARRAY_NAMES))
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float32)
        for name in ARRAY_NAMES:
            object.__setattr__(self, name, _checked_array(name, getattr(self, name), hidden, dtype, self.source))

    @property
    def H(self) -> int:
        """Hidden size."""
        return self.Wh.shape[0]

    @property
    def dtype(self) -> np.dtype:
        """Floating type of the weights (float32 as loaded; float64 for exact checks)."""
        return self.Wh.dtype

    @property
    def n_params(self) -> int:
        """Number of weights."""
        return float_count(self.H)

    @cached_property
    def WhT(self) -> np.ndarray:
        """``Wh`` transposed, C-contiguous (the layout the recurrence kernel streams)."""
        out = np.ascontiguousarray(self.Wh.T)
        out.setflags(write=False)
        return out

    @cached_property
    def WxT(self) -> np.ndarray:
        """``Wx`` transposed, C-contiguous: row b is the input column of byte b."""
        out = np.ascontiguousarray(self.Wx.T)
        out.setflags(write=False)
        return out

    @cached_property
    def WyT(self) -> np.ndarray:
        """``Wy`` transposed, C-contiguous (H, 256), for the chunked readout GEMM."""
        out = np.ascontiguousarray(self.Wy.T)
        out.setflags(write=False)
        return out

    @cached_property
    def spectral_radius(self) -> float:
        """Largest absolute eigenvalue of ``Wh``."""
        return float(np.max(np.abs(np.linalg.eigvals(self.Wh.astype(np.float64)))))

    @cached_property
    def wh_frobenius(self) -> float:
        """Frobenius norm ``||Wh||_F``."""
        return float(np.linalg.norm(self.Wh.astype(np.float64)))

    @classmethod
    def from_state_dict(cls, state, *, dtype=np.float32, source: str = "<state_dict>") -> "Model":
        """The model of a PyTorch char-RNN ``state_dict`` (tensors or arrays, possibly nested).

        Parameters
        ----------
        state
            e.g. ``net.state_dict()``; the names understood are those of
            :func:`~factormap.engine.checkpoints.arrays_from_state_dict`.
        dtype
            float32 (weights rounded to it) or float64 (kept as given).
        source
            how error messages and displays name the model.
        """
        arrays = arrays_from_state_dict(state, source)
        return cls(**{n: np.asarray(a, dtype=dtype) for n, a in arrays.items()}, source=source)

    def astype(self, dtype) -> "Model":
        """The same model with weights of another float type (float64 for gradient checks)."""
        return Model(*(getattr(self, n).astype(dtype) for n in ARRAY_NAMES), source=self.source)

    def replace(self, **arrays: np.ndarray) -> "Model":
        """A new model with some arrays replaced (used by weight-editing interventions).

        The arrays not replaced, and what this model has derived from them (transposes, the
        spectral radius), are shared with it rather than copied: all are read-only. A replaced
        array of a wider float type than this model's makes the new model of that type (every
        array converted), as the constructor would.

        Raises
        ------
        ModelError
            a replaced array holds NaN or Inf, typically an edit whose result
            overflowed the float range; the message names the edit, not the model file.
        """
        source = arrays.get("source", self.source)
        edited = {n: to_numpy(arrays[n]) for n in ARRAY_NAMES if n in arrays}
        for name, arr in edited.items():
            if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
                bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
                raise ModelError(f"{self.source}: the edited {name} has {bad} NaN or Inf value(s); "
                                 f"the edit is too large for {arr.dtype} weights")
        if np.result_type(self.dtype, *(a.dtype for a in edited.values())) != self.dtype:
            return Model(**{n: edited.get(n, getattr(self, n)) for n in ARRAY_NAMES}, source=source)
        # the arrays kept are read-only and checked already: copying and checking all five again
        # cost a 1 KB weight-edited run 0.1 ms of its 1.6 ms
        model = object.__new__(Model)
        object.__setattr__(model, "source", source)
        for name in ARRAY_NAMES:
            object.__setattr__(model, name, _checked_array(name, edited[name], self.H, self.dtype, source)
                               if name in edited else getattr(self, name))
        for derived, name in _DERIVED_FROM.items():
            if name not in edited and derived in vars(self):
                vars(model)[derived] = vars(self)[derived]
        return model

    def to_bin_bytes(self) -> bytes:
        """The model in `.bin` layout (little-endian float32)."""
        return b"".join(getattr(self, n).astype("<f4").tobytes() for n in ARRAY_NAMES)
