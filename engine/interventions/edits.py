"""Rank-one state edits, the one form every state intervention compiles to, and their runners.

An edit k is ``(u_k, alpha_k, beta_k)`` with ``u_k`` a unit vector of length H, ``alpha_k`` a number
and ``beta_k(t)`` a number per position (a constant or an (n,) array). Applied to a state h at
position t it sets the component along ``u_k`` and keeps the orthogonal complement::

    h <- h + ((alpha_k - 1) * (h . u_k) + beta_k(t)) * u_k

so subtraction is ``(u, 0, 0)``, scaling ``(u, alpha, 0)``, writing a value ``v_t`` in is
``(u, 0, v_t)`` and setting unit j to m is ``(e_j, 0, m)``. A list of edits applies in list order.
In the recurrence the coefficient and every edited unit are clamped to ``+-STATE_LIMIT`` (finite
numbers, never NaN); readout-only edits fold into the readout weights instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

from factormap.engine.forward import as_bytes_array, kernel_weights
from factormap.engine.kernels import read_only
from factormap.engine.kernels.recurrence import recur_exact_kernel, recur_fast_kernel
from factormap.engine.kernels.state_edits import STATE_LIMIT
from factormap.engine.model import Model


def is_constant(beta) -> bool:
    """True when an edit's offset ``beta`` is one number for every position (not per-position values)."""
    return isinstance(beta, Real)


@dataclass(frozen=True, eq=False)
class StateEdits:
    """An ordered list of rank-one state edits.

    Attributes
    ----------
    directions
        (k, H) float64 unit rows ``u_k``.
    alphas
        (k,) float64 factors ``alpha_k`` kept along ``u_k``.
    offsets
        k entries ``beta_k``: a number, or per-position values sliced by ``[t0:t1]`` (an (n,)
        float64 array, or a write-in oracle's
        :class:`~factormap.engine.interventions.oracle_values.OracleValues`).
    """

    directions: np.ndarray
    alphas: np.ndarray
    offsets: tuple

    @classmethod
    def none(cls, H: int) -> "StateEdits":
        """The empty list (every state unchanged)."""
        return cls(np.zeros((0, H)), np.zeros(0), ())

    @classmethod
    def concat(cls, H: int, parts: list[tuple[np.ndarray, float, float | np.ndarray]]) -> "StateEdits":
        """Edits from ``(u, alpha, beta)`` triples, in order."""
        if not parts:
            return cls.none(H)
        return cls(np.array([p[0] for p in parts], np.float64).reshape(len(parts), H),
                   np.array([p[1] for p in parts], np.float64), tuple(p[2] for p in parts))

    def __len__(self) -> int:
        return self.directions.shape[0]

    def betas(self, t0: int, t1: int) -> np.ndarray:
        """``beta_k(t)`` for t in [t0, t1), shape (k, t1 - t0), float64."""
        out = np.empty((len(self), t1 - t0))
        for k, b in enumerate(self.offsets):
            out[k] = b if is_constant(b) else b[t0:t1]
        return out

    def folded_into_readout(self, model: Model) -> Model:
        """``model`` with these edits folded into its readout: ``Wy' = Wy A``, ``by' = by + Wy b``.

        The list (constant offsets only) is the affine map ``h -> A h + b`` with
        ``A = M_k ... M_1``, ``M_i = I + (alpha_i - 1) u_i u_i^T``, and ``b`` composed edit by edit
        (``b <- M_i b + beta_i u_i``); ``softmax(Wy' h + by')`` is the prediction from ``A h + b``.
        Alphas and ``b`` are clipped to ``+-STATE_LIMIT`` as in the recurrence, so the weights stay finite.
        """
        if not len(self):
            return model
        if not all(is_constant(beta) for beta in self.offsets):
            raise ValueError("edits with per-position offsets do not fold into the readout")
        alphas = np.clip(self.alphas, -STATE_LIMIT, STATE_LIMIT)
        b = np.zeros(self.directions.shape[1])
        for u, a, beta in zip(self.directions, alphas, self.offsets):
            b = np.clip(b + ((a - 1) * (u @ b) + beta) * u, -STATE_LIMIT, STATE_LIMIT)
        Wy = np.array(model.Wy, np.float64)
        by = model.by + Wy @ b
        for u, a in zip(self.directions[::-1], alphas[::-1]):
            Wy += np.outer((a - 1) * (Wy @ u), u)  # in place: a 1 KB readout edit spent 1 ms on temporaries
        with np.errstate(over="ignore"):  # a float32 overflow becomes inf, which replace() refuses in one line
            return model.replace(Wy=Wy.astype(model.dtype), by=by.astype(model.dtype))


def edited_recur(model: Model, x, h0: np.ndarray, edits: StateEdits, t0: int, *,
                 exact: bool | None = None) -> np.ndarray:
    """States of the recurrence with ``edits`` applied after the tanh at every step.

    ``h_t = E_t(tanh(bh + Wx[:, x_t] + Wh @ h_{t-1}))`` where ``E_t`` applies the edits in order
    with the offsets of text position ``t0 + t``; the edited state feeds the next step.

    Parameters
    ----------
    model : the (possibly weight-edited) model; its dtype picks the kernel.
    x : bytes of positions t0, t0+1, ...
    h0 : the (edited) state before ``x[0]``.
    edits : the per-step edits.
    t0 : text position of ``x[0]``, to index per-position offsets.
    exact : libm tanh in float64 (default for float64 models); else the float32 rational tanh.
        Alphas and offsets are clipped to ``+-STATE_LIMIT`` (finite in float32).

    Returns
    -------
    (len(x), H) edited states in the model's dtype (float64 when exact).
    """
    xs = read_only(as_bytes_array(x))
    if exact is None:
        exact = model.dtype != np.float32
    dtype = np.float64 if exact else np.float32
    m = model if model.dtype == dtype else model.astype(dtype)
    lim = STATE_LIMIT
    alphas = np.clip(edits.alphas, -lim, lim).astype(dtype)
    betas = np.clip(edits.betas(t0, t0 + xs.shape[0]), -lim, lim).astype(dtype)
    kernel = recur_exact_kernel if exact else recur_fast_kernel
    w = m if exact else kernel_weights(m)  # cache-line aligned: unaligned rows cost the fast kernel 35%
    out = np.empty((xs.shape[0], m.H), dtype)
    kernel(w.WxT, w.WhT, w.bh, xs, read_only(np.ascontiguousarray(h0, dtype)),
           (read_only(edits.directions.astype(dtype)), read_only(alphas), read_only(betas)), out)
    return out
