"""The readout ``softmax(Wy @ h_t + by)`` and its per-position statistics as one numba kernel.

The logits of a tile of positions are accumulated in registers
(:func:`~factormap.engine.kernels.logit_tile.tile_logits`), then reduced while they are still in
L1: max and argmax (:func:`~factormap.engine.kernels.logit_tile.max_and_first`),
``sum exp(logit - max)`` with the vectorised :func:`exp_f32`, and the target's log probability.
No BLAS call, so no BLAS threads compete with the recurrence on the other core.
"""

import math

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT, PROB_FLOOR
from factormap.engine.kernels import read_only
from factormap.engine.kernels.fastmath import VECTOR_FLAGS, exp_f32
from factormap.engine.kernels.logit_tile import TILE_POSITIONS, max_and_first, panels, tile_logits

#: Rows whose logits are bounded by this stay in float32; the others are computed in float64. A
#: logit accumulated in float32 is off by a few units in the last place of the bound (2^-13 nats
#: at 2^10; 4e-5 bits measured on random H = 128 readouts there), while at 1e20 one unit in the
#: last place is already 1e13 nats and every probability is noise.
FLOAT32_LOGIT_LIMIT = 1024.0
_LOG_FLOOR = math.log(PROB_FLOOR)
_BITS_PER_NAT = 1.0 / math.log(2.0)


@njit(inline="always", **VECTOR_FLAGS)
def _fits_float32(logit_bound, h):
    """Whether every logit of state ``h`` and every partial sum of it is bounded by
    :data:`FLOAT32_LOGIT_LIMIT`, where float32 sums keep the bits' accuracy."""
    H = h.shape[0]
    bound = logit_bound[H]
    for j in range(H):
        bound += abs(h[j]) * logit_bound[j]
    return bound <= FLOAT32_LOGIT_LIMIT


@njit(**NUMBA_FLAGS_EXACT)
def _target_bits(shifted, log_total):
    """``-log2 max(exp(shifted - log_total), PROB_FLOOR)`` in source order: compiled apart from
    the fastmath kernel so that reassociation cannot turn ``(row[target] - best) - log_total``
    into ``row[target] - (best + log_total)``, which loses ``log_total`` when ``|best|`` is large."""
    return -max(shifted - log_total, _LOG_FLOOR) * _BITS_PER_NAT


@njit(**VECTOR_FLAGS)
def readout_kernel(Wp, by, logit_bound, states, targets, bits, pred_byte, pred_prob):
    """Statistics of ``softmax(WyT.T @ states[t] + by)`` for every row t of ``states`` (float32;
    ``Wp`` is :func:`~factormap.engine.kernels.logit_tile.panels` of ``WyT``).

    Writes ``pred_byte[t] = argmax``, ``pred_prob[t] = max p`` and, for t < len(bits),
    ``bits[t] = -log2 max(p[targets[t]], PROB_FLOOR)`` (NaN where ``targets[t] < 0``).
    ``logit_bound`` is ``max_k |WyT[j, k]|`` for each j, then ``max_k |by[k]|`` (float32; a bound
    that overflows to inf fails the test, as it should); a row whose logits might exceed
    :data:`FLOAT32_LOGIT_LIMIT` is skipped with ``pred_prob[t] = NaN``, for the caller to compute
    in float64.
    """
    n = states.shape[0]
    V = by.shape[0]
    logits = np.empty((TILE_POSITIONS, V), np.float32)
    for t0 in range(0, n, TILE_POSITIONS):
        count = min(TILE_POSITIONS, n - t0)
        tile_logits(Wp, by, states, t0, count, logits)
        for p in range(count):
            t = t0 + p
            if not _fits_float32(logit_bound, states[t]):
                pred_prob[t] = np.nan
                continue
            row = logits[p]
            best, arg = max_and_first(row)
            total = np.float32(0.0)
            for k in range(V):
                total += exp_f32(row[k] - best)
            pred_byte[t] = arg
            pred_prob[t] = np.float32(1.0) / total
            if t < bits.shape[0]:
                target = targets[t]
                if target >= 0:
                    bits[t] = _target_bits(np.float64(row[target] - best), math.log(total))
                else:
                    bits[t] = np.nan


def warm(exact: bool = True) -> None:
    """Compile the kernel for read-only float32 weights and states, as the wrapper passes them
    (float64 readouts go through numpy: ``exact`` adds nothing here)."""
    H, n = 5, TILE_POSITIONS + 1
    by, states = (read_only(np.zeros(shape, np.float32)) for shape in (256, (n, H)))
    targets, logit_bound = read_only(np.full(n, -1, np.int64)), read_only(np.zeros(H + 1, np.float32))
    readout_kernel(panels(np.zeros((H, 256), np.float32)), by, logit_bound, states, targets, np.empty(n, np.float32), np.empty(n, np.uint8),
                   np.empty(n, np.float32))
