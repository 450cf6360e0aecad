"""Offset profiles of a block of consecutive predictions, all offsets at once.

For every prediction t in a block, the same quantities as :func:`factormap.engine.attribution.attribution`
(target ``x_{t+1}``): ``||g_k||``, ``a_k = g_k . Wx[:, x_{t-k}]`` and the exact
``((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]`` for k = 0..K, the energy ``sum_t g_{k,j}^2`` per
offset and neuron, and the top-n energy share of ``g_0``. One numba kernel advances the block's
gradients one offset at a time for all rows together (``G_{k+1} = ((1 - H_k^2) * G_k) @ Wh``) and
computes each offset's statistics in the pass that forms ``(1 - H_k^2) * G_k``; large blocks are
split between the cores, each part's readout gradients and kernel calls (GIL released) on a
thread of its own. Entries of offsets past the start of the text (k > t) are NaN and add no energy.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from factormap.engine.attribution.prediction import readout_gradients
from factormap.engine.forward import kernel_weights
from factormap.engine.kernels.block_backprop import offsets_kernel, top_share_kernel
from factormap.engine.session import Session

#: Fewest predictions worth a thread of their own: one kernel call covers all K offsets of its
#: part (256 rows at K = 64 is 0.5 GFLOP, milliseconds against a thread's ~0.1 ms).
MIN_ROWS_PER_THREAD = 256


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


def _cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _padded_inputs(session: Session, start: int, stop: int, K: int) -> tuple[np.ndarray, np.ndarray]:
    """``h_s`` and ``x_s`` for s in [start-K, stop), with zero rows standing in for s < 0."""
    lo = max(0, start - K)
    states = session.states(lo, stop)
    xs = session.x[lo:stop].copy()
    pad = K - (start - lo)
    if pad:
        states = np.concatenate([np.zeros((pad, states.shape[1]), states.dtype), states])
        xs = np.concatenate([np.zeros(pad, np.uint8), xs])
    return states, xs


def offset_profiles(session: Session, start: int, stop: int, K: int, top_n: int = 10, *,
                    target: int | None = None) -> OffsetProfiles:
    """Offset statistics of the predictions t in [start, stop), each of the byte ``x_{t+1}`` (or of
    the byte ``target`` at every t).

    Parameters
    ----------
    session : Session
    start, stop : int
        ``0 <= start < stop <= n-1``.
    K : int
        Deepest offset (>= 0); offsets past the start of the text are NaN.
    top_n : int
        Neurons counted in ``top_share``.
    target : int, optional
        A byte 0..255 whose ``ln p_t`` every prediction attributes instead of its next byte's.

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
    if target is not None and not 0 <= int(target) < 256:
        raise ValueError(f"target must be a byte value 0..255, got {target}")
    targets = session.x[start + 1:stop + 1] if target is None else np.full(count, int(target), np.int64)
    top_share = np.empty(count, model.dtype)
    w = kernel_weights(model)
    parts = max(1, min(_cores(), count // MIN_ROWS_PER_THREAD))
    bounds = np.linspace(0, count, parts + 1).astype(int)
    # One contiguous buffer per part (not views of one array): the kernel then has one layout to compile.
    part_stats = [np.full((3, K + 1, b - a), np.nan, model.dtype) for a, b in zip(bounds[:-1], bounds[1:])]
    energies = np.zeros((parts, K + 1, model.H))

    # A float32 row's readout gradient does not depend on the rows beside it (matrix_product's
    # tiles), so each part reads out its own rows on its thread; numpy's float64 product rounds
    # by its blocking, so a float64 block is read out whole, whatever the number of parts.
    whole = None if model.dtype == np.float32 else readout_gradients(model, states[K:], targets)[0]

    def run(i: int) -> None:
        a, b = bounds[i], bounds[i + 1]
        G = readout_gradients(model, states[K + a:K + b], targets[a:b])[0] if whole is None else whole[a:b]
        top_share_kernel(G, top_n, top_share[a:b])  # before offsets_kernel overwrites g_0
        offsets_kernel(G, states[a:b + K], xs[a:b + K], w.WxT, w.Wh, start + a, part_stats[i], energies[i])

    if parts == 1:
        run(0)
    else:
        with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="factormap-attribution") as pool:
            list(pool.map(run, range(parts)))
    stats = np.concatenate(part_stats, axis=2)
    energy = energies.sum(axis=0)
    return OffsetProfiles(start=start, stop=stop, grad_norms=stats[0], input_attr=stats[1],
                          input_attr_exact=stats[2], energy=energy, top_share=top_share)
