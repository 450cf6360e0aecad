"""Per-position arrays for a range of the text, for notebooks: states, bits, predictions, attributions.

Position t of the range carries its byte ``x_t``, its hidden state ``h_t``, the prediction made
from ``h_t`` (of ``x_{t+1}``) and that prediction's backward attribution at offsets 0..K, exactly
as :func:`factormap.engine.attribution.attribution` defines them. The last position of the text
predicts nothing: its bits, target and attributions are NaN / -1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from factormap.engine.attribution.prediction import DEFAULT_K
from factormap.engine.attribution.profiles import offset_profiles
from factormap.engine.attribution.summary import BLOCK, TOP_N
from factormap.engine.errors import Cancelled
from factormap.engine.forward import next_targets
from factormap.engine.session import Session


def _targets(session: Session, start: int, stop: int, target: int | None) -> np.ndarray:
    """The attributed byte of each position: ``x_{t+1}`` or ``target``; -1 at t = n-1."""
    targets = next_targets(session.x, start, stop).astype(np.int16)
    if target is not None:
        targets[targets >= 0] = int(target)
    return targets


def position_arrays(session: Session, start: int, stop: int, K: int = DEFAULT_K,
                    progress: Callable[[float], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, *,
                    target: int | None = None) -> dict[str, np.ndarray]:
    """Arrays describing positions t in [start, stop), m = stop - start of them.

    Parameters
    ----------
    session : Session
    start, stop : int
        ``0 <= start < stop <= n``.
    K : int
        Deepest offset of the attributions (>= 0).
    progress, should_stop : callable, optional
        The engine's convention: fraction done after each block; :class:`Cancelled` when stopped.
    target : int, optional
        A byte every attribution is of (``g_k = d ln p_t[target] / d h_{t-k}``) instead of the next
        byte; the ``target`` array then holds it (still -1 at t = n-1, and ``bits`` stay those of
        the next byte).

    Returns
    -------
    dict of ndarray
        ``position`` (m,) int64 t; ``byte`` (m,) uint8 ``x_t``; ``target`` (m,) int16 ``x_{t+1}``
        (-1 at t = n-1); ``states`` (m, H) ``h_t``; ``bits`` (m,) float32 (float64 for a
        float64 model) ``-log2 max(p_t[x_{t+1}], 1e-8)``; ``pred_byte`` (m,) uint8 ``argmax p_t``; ``pred_prob``
        (m,) float32 ``max p_t``; ``grad_norms`` (m, K+1) ``||g_k||`` with
        ``g_k = d ln p_t[x_{t+1}] / d h_{t-k}``; ``input_attr`` (m, K+1) ``g_k . Wx[:, x_{t-k}]``;
        ``input_attr_exact`` (m, K+1) ``((1 - h_{t-k}^2) * g_k) . Wx[:, x_{t-k}]``; ``top10_share``
        (m,) the energy share of the 10 largest ``g_{0,j}^2``; ``K`` (0-d) K. Attribution entries
        with k > t, and every entry of t = n-1, are NaN.
    """
    start, stop, K = int(start), int(stop), int(K)
    if not 0 <= start < stop <= session.n:
        raise ValueError(f"the range [{start}, {stop}) must lie within the text's positions 0..{session.n - 1}")
    if K < 0:
        raise ValueError(f"K must be 0 or more, got {K}")
    count = stop - start
    dtype = session.model.dtype
    attr = np.full((3, count, K + 1), np.nan, dtype)
    share = np.full(count, np.nan, dtype)
    predicted = min(stop, session.n - 1)
    for lo in range(start, predicted, BLOCK):
        if should_stop is not None and should_stop():
            raise Cancelled("export stopped")
        hi = min(predicted, lo + BLOCK)
        block = offset_profiles(session, lo, hi, K, TOP_N, target=target)
        rows = slice(lo - start, hi - start)
        attr[0, rows], attr[1, rows], attr[2, rows] = block.grad_norms.T, block.input_attr.T, block.input_attr_exact.T
        share[rows] = block.top_share
        if progress is not None:
            progress((hi - start) / count)
    session.ensure(stop)
    pred_byte, pred_prob = session.predictions(start, stop)
    bits = np.full(count, np.nan, session.bits.dtype)
    bits[:predicted - start] = session.bits_range(start, predicted)
    if progress is not None:
        progress(1.0)
    return {
        "position": np.arange(start, stop, dtype=np.int64),
        "byte": session.x[start:stop].copy(),
        "target": _targets(session, start, stop, target),
        "states": session.states(start, stop),
        "bits": bits,
        "pred_byte": pred_byte,
        "pred_prob": pred_prob,
        "grad_norms": attr[0],
        "input_attr": attr[1],
        "input_attr_exact": attr[2],
        "top10_share": share,
        "max_offset": np.array(K),
    }
