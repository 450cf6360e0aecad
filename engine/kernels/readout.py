"""The readout ``softmax(Wy @ h_t + by)`` and its per-position statistics as one numba kernel.

The logits of four positions are accumulated together (each row of ``WyT`` is loaded once for four
positions, four rows per pass over the accumulators), then reduced while they are still in L1:
argmax, ``sum exp(logit - max)`` with the vectorised :func:`exp_f32`, and the target's log
probability. No BLAS call, so no BLAS threads compete with the recurrence on the other core.
"""

import math

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT, PROB_FLOOR
from factormap.engine.kernels import read_only
from factormap.engine.kernels.fastmath import VECTOR_FLAGS, exp_f32

#: Positions whose logits are accumulated together.
POSITIONS_PER_BLOCK = 4
#: float32 lanes of an AVX-512 register: the width of the running max.
LANES = 16
#: Rows whose logits are bounded by this stay in float32; the others are computed in float64. A
#: logit accumulated in float32 is off by a few units in the last place of the bound (2^-13 nats
#: at 2^10; 4e-5 bits measured on random H = 128 readouts there), while at 1e20 one unit in the
#: last place is already 1e13 nats and every probability is noise.
FLOAT32_LOGIT_LIMIT = 1024.0
_LOG_FLOOR = math.log(PROB_FLOOR)
_BITS_PER_NAT = 1.0 / math.log(2.0)


@njit(inline="always", **VECTOR_FLAGS)
def _logits_block(WyT, by, states, t0, acc):
    """``acc[p] = by + WyT.T @ states[t0 + p]`` for p < 4 (all four rows of ``states`` exist)."""
    H = states.shape[1]
    V = by.shape[0]
    for p in range(POSITIONS_PER_BLOCK):
        for k in range(V):
            acc[p, k] = by[k]
    whole = H - H % 4
    for j in range(0, whole, 4):
        w0, w1, w2, w3 = WyT[j], WyT[j + 1], WyT[j + 2], WyT[j + 3]
        s0, s1, s2, s3 = states[t0], states[t0 + 1], states[t0 + 2], states[t0 + 3]
        a0, a1, a2, a3 = s0[j], s0[j + 1], s0[j + 2], s0[j + 3]
        b0, b1, b2, b3 = s1[j], s1[j + 1], s1[j + 2], s1[j + 3]
        c0, c1, c2, c3 = s2[j], s2[j + 1], s2[j + 2], s2[j + 3]
        d0, d1, d2, d3 = s3[j], s3[j + 1], s3[j + 2], s3[j + 3]
        for k in range(V):
            x0, x1, x2, x3 = w0[k], w1[k], w2[k], w3[k]
            acc[0, k] += (x0 * a0 + x1 * a1) + (x2 * a2 + x3 * a3)
            acc[1, k] += (x0 * b0 + x1 * b1) + (x2 * b2 + x3 * b3)
            acc[2, k] += (x0 * c0 + x1 * c1) + (x2 * c2 + x3 * c3)
            acc[3, k] += (x0 * d0 + x1 * d1) + (x2 * d2 + x3 * d3)
    for j in range(whole, H):
        w = WyT[j]
        for p in range(POSITIONS_PER_BLOCK):
            a = states[t0 + p, j]
            for k in range(V):
                acc[p, k] += w[k] * a


@njit(inline="always", **VECTOR_FLAGS)
def _logits_one(WyT, by, h, row):
    """``row = by + WyT.T @ h`` for one position (the tail of a block)."""
    for k in range(by.shape[0]):
        row[k] = by[k]
    for j in range(h.shape[0]):
        w = WyT[j]
        a = h[j]
        for k in range(by.shape[0]):
            row[k] += w[k] * a


@njit(inline="always", **VECTOR_FLAGS)
def _max_argmax(row, lanes):
    """(max, first index of the max) of ``row``; ``lanes`` is scratch of LANES floats.

    A running max per SIMD lane, then one pass for the first index equal to it: both vectorise,
    where numba's ``max`` and a compare-and-remember loop stay scalar.
    """
    V = row.shape[0]
    whole = V - V % LANES
    for lane in range(LANES):
        lanes[lane] = row[0]
    for k0 in range(0, whole, LANES):
        for lane in range(LANES):
            v = row[k0 + lane]
            lanes[lane] = v if v > lanes[lane] else lanes[lane]
    best = row[0]
    for lane in range(LANES):
        best = lanes[lane] if lanes[lane] > best else best
    for k in range(whole, V):
        best = row[k] if row[k] > best else best
    arg = np.int32(V)
    for k in range(V):
        candidate = np.int32(k) if row[k] == best else np.int32(V)
        arg = candidate if candidate < arg else arg
    return best, arg


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
def readout_kernel(WyT, by, logit_bound, states, targets, bits, pred_byte, pred_prob):
    """Statistics of ``softmax(WyT.T @ states[t] + by)`` for every row t of ``states`` (float32).

    Writes ``pred_byte[t] = argmax``, ``pred_prob[t] = max p`` and, for t < len(bits),
    ``bits[t] = -log2 max(p[targets[t]], PROB_FLOOR)`` (NaN where ``targets[t] < 0``).
    ``logit_bound`` is ``max_k |WyT[j, k]|`` for each j, then ``max_k |by[k]|`` (float32; a bound
    that overflows to inf fails the test, as it should); a row whose logits might exceed
    :data:`FLOAT32_LOGIT_LIMIT` is skipped with ``pred_prob[t] = NaN``, for the caller to compute
    in float64.
    """
    n = states.shape[0]
    V = by.shape[0]
    acc = np.empty((POSITIONS_PER_BLOCK, V), np.float32)
    lanes = np.empty(LANES, np.float32)
    for t0 in range(0, n, POSITIONS_PER_BLOCK):
        count = min(POSITIONS_PER_BLOCK, n - t0)
        if count == POSITIONS_PER_BLOCK:
            _logits_block(WyT, by, states, t0, acc)
        else:
            for p in range(count):
                _logits_one(WyT, by, states[t0 + p], acc[p])
        for p in range(count):
            t = t0 + p
            if not _fits_float32(logit_bound, states[t]):
                pred_prob[t] = np.nan
                continue
            row = acc[p]
            best, arg = _max_argmax(row, lanes)
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
    H, n = 5, POSITIONS_PER_BLOCK + 1
    WyT, by, states = (read_only(np.zeros(shape, np.float32)) for shape in ((H, 256), 256, (n, H)))
    targets, logit_bound = read_only(np.full(n, -1, np.int64)), read_only(np.zeros(H + 1, np.float32))
    readout_kernel(WyT, by, logit_bound, states, targets, np.empty(n, np.float32), np.empty(n, np.uint8),
                   np.empty(n, np.float32))
