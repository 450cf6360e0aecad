"""Offset profiles of a block of consecutive predictions, all offsets at once.

For every prediction t in a block, the same quantities as :func:`factormap.engine.attribution.attribution`
(target ``x_{t+1}``): ``||g_k||``, ``a_k = g_k . Wx[:, x_{t-k}]`` and the exact
``((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]`` for k = 0..K, the energy ``sum_t g_{k,j}^2`` per
offset and neuron, and the top-n energy share of ``g_0``. The block's gradients advance one offset
at a time: ``G_{k+1} = ((1 - H_k^2) * G_k) @ Wh`` is one matrix product (BLAS) for all rows, and a
numba kernel computes each offset's statistics in the same pass that forms ``(1 - H_k^2) * G_k``.
Entries of offsets past the start of the text (k > t) are NaN and add no energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.attribution import readout_gradients
from factormap.engine.kernels.backprop import offset_step_kernel, top_share_kernel
from factormap.engine.session import Session


@dataclass(frozen=True, eq=False)
class OffsetProfiles:
    """Per-prediction offset statistics for the predictions t in [start, stop).

    Column c of each (K+1, stop-start) array is the prediction at ``t = start + c``; row k is offset k;
    entries with k > t are NaN.

    Attributes
    ----------
    start, stop : int
        The block of predictions (stop <= n-1: every prediction has a next byte).
    grad_norms : ndarray, shape (K+1, stop-start)
        ``||g_k||`` with ``g_k = d ln p_t[x_{t+1}] / d h_{t-k}``.
    input_attr : ndarray, shape (K+1, stop-start)
        ``g_k . Wx[:, x_{t-k}]`` (the research's definition, no tanh').
    input_attr_exact : ndarray, shape (K+1, stop-start)
        ``((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]``.
    energy : ndarray of float64, shape (K+1, H)
        ``sum over t in the block (with t >= k) of g_{k,j}^2``.
    top_share : ndarray, shape (stop-start,)
        ``sum of the top_n largest g_{0,j}^2 / sum_j g_{0,j}^2`` per prediction.
    """

    start: int
    stop: int
    grad_norms: np.ndarray
    input_attr: np.ndarray
    input_attr_exact: np.ndarray
    energy: np.ndarray
    top_share: np.ndarray

    @property
    def K(self) -> int:
        """Deepest offset."""
        return self.grad_norms.shape[0] - 1


def _padded_inputs(session: Session, start: int, stop: int, K: int) -> tuple[np.ndarray, np.ndarray]:
    """``h_s`` and ``x_s`` for s in [start-K, stop), with zero rows standing in for s < 0."""
    lo = max(0, start - K)
    states = session.states(lo, stop)
    xs = session.x[lo:stop]
    pad = K - (start - lo)
    if pad:
        states = np.concatenate([np.zeros((pad, states.shape[1]), states.dtype), states])
        xs = np.concatenate([np.zeros(pad, np.uint8), xs])
    return states, xs


def offset_profiles(session: Session, start: int, stop: int, K: int, top_n: int = 10) -> OffsetProfiles:
    """Offset statistics of the predictions t in [start, stop), each of the byte ``x_{t+1}``.

    Parameters
    ----------
    session : Session
    start, stop : int
        ``0 <= start < stop <= n-1``.
    K : int
        Deepest offset (>= 0); offsets past the start of the text are NaN.
    top_n : int
        Neurons counted in ``top_share``.

    Returns
    -------
    OffsetProfiles
        In the model's dtype (energy in float64).
    """
    start, stop, K = int(start), int(stop), int(K)
    if not 0 <= start < stop <= session.n - 1:
        raise ValueError(f"predictions [{start}, {stop}) must lie within 0..{session.n - 2}")
    if K < 0:
        raise ValueError(f"K must be 0 or more, got {K}")
    model = session.model
    count = stop - start
    states, xs = _padded_inputs(session, start, stop, K)
    G, _ = readout_gradients(model, states[K:], session.x[start + 1:stop + 1])
    top_share = top_share_kernel(G, top_n, np.empty(count, model.dtype))
    stats = np.full((3, K + 1, count), np.nan, model.dtype)
    energy = np.zeros((K + 1, model.H))
    V = np.zeros_like(G)
    for k in range(K + 1):
        first = max(0, k - start)
        if first >= count:
            break
        rows = slice(K - k + first, K - k + count)
        offset_step_kernel(G[first:], states[rows], xs[rows], model.WxT, V[first:], stats[:, k, first:], energy[k])
        if k < K:
            np.matmul(V, model.Wh, out=G)
    return OffsetProfiles(start=start, stop=stop, grad_norms=stats[0], input_attr=stats[1],
                          input_attr_exact=stats[2], energy=energy, top_share=top_share)
