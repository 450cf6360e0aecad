"""Sums of shifted states, of their products and of their products with features (float64).

For a block of states ``h_p`` (p = 0..B-1) and a shift ``m``, with ``c_p = h_p - m`` in float64:

- :func:`chunk_moments_kernel` adds ``sum_p c_p``, the upper triangle (j >= i) of
  ``sum_p c_p c_p^T``, and for each feature f of a few ``g_f``: ``sum_p g_f[p] c_p`` and
  ``sum_p c_p`` per value index of the feature, in one pass over the states (each ``c_p`` is used
  while it is in L1: a chunk's 4 MB of float64 ``c`` read once per feature from L3 cost the
  features as much as the products);
- :func:`feature_sums_kernel` adds the features' sums over ``c`` already computed.

No BLAS: numpy's products run on OpenBLAS's thread pool, which on two cores competes with the
factor map's other lane (:mod:`factormap.engine.factor_map.lanes`) (measured: the whole map 7.3 s of CPU on 256 KB
with two BLAS threads, 1.2 s with one, while the machine was busy). The products take eight
positions per pass over four rows of the accumulator, so each element of the triangle is loaded
and stored once per eight positions and each ``c_p[j]`` loaded once per four rows (measured on
Zen 4 at H = 128: 0.7 us of CPU per position for the triangle, 0.92 with the shift and the four
standard features, against 2.2 for the former one-row kernels and a per-feature pass). Only
contraction is allowed, not reassociation: each element adds its eight positions' products in
order, then adds the block's sum to itself, block after block.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only

#: Float64 products fused into multiply-adds; no reassociation (sums over positions stay ordered).
MOMENT_FLAGS = dict(NUMBA_FLAGS_EXACT, fastmath={"contract"}, error_model="numpy")
#: Positions added per pass over the accumulator.
POSITIONS_PER_PASS = 8
#: Rows of the accumulator updated together.
ROWS_PER_PASS = 4


@njit(inline="always", **MOMENT_FLAGS)
def _add_products(c, upper):
    """``upper[i, j] += sum_q c[q, i] * c[q, j]`` over the eight rows q of ``c``, for j >= i (and,
    within a block of four rows, for the few j in the block below the diagonal: their sums are
    right too, and unused)."""
    H = c.shape[1]
    whole = H - H % ROWS_PER_PASS
    for i in range(0, whole, ROWS_PER_PASS):
        # slices from i on: LLVM vectorises the loop over j only when it runs from 0 over arrays of
        # its own length
        c0, c1, c2, c3, c4, c5, c6, c7 = c[0, i:], c[1, i:], c[2, i:], c[3, i:], c[4, i:], c[5, i:], c[6, i:], c[7, i:]
        r0, r1, r2, r3 = upper[i, i:], upper[i + 1, i:], upper[i + 2, i:], upper[i + 3, i:]
        a0, a1, a2, a3, a4, a5, a6, a7 = c0[0], c1[0], c2[0], c3[0], c4[0], c5[0], c6[0], c7[0]
        b0, b1, b2, b3, b4, b5, b6, b7 = c0[1], c1[1], c2[1], c3[1], c4[1], c5[1], c6[1], c7[1]
        d0, d1, d2, d3, d4, d5, d6, d7 = c0[2], c1[2], c2[2], c3[2], c4[2], c5[2], c6[2], c7[2]
        e0, e1, e2, e3, e4, e5, e6, e7 = c0[3], c1[3], c2[3], c3[3], c4[3], c5[3], c6[3], c7[3]
        for j in range(r0.shape[0]):
            x0, x1, x2, x3, x4, x5, x6, x7 = c0[j], c1[j], c2[j], c3[j], c4[j], c5[j], c6[j], c7[j]
            r0[j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4 + a5 * x5 + a6 * x6 + a7 * x7
            r1[j] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4 + b5 * x5 + b6 * x6 + b7 * x7
            r2[j] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3 + d4 * x4 + d5 * x5 + d6 * x6 + d7 * x7
            r3[j] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3 + e4 * x4 + e5 * x5 + e6 * x6 + e7 * x7
    for i in range(whole, H):
        row = upper[i, i:]
        c0, c1, c2, c3, c4, c5, c6, c7 = c[0, i:], c[1, i:], c[2, i:], c[3, i:], c[4, i:], c[5, i:], c[6, i:], c[7, i:]
        a0, a1, a2, a3, a4, a5, a6, a7 = c0[0], c1[0], c2[0], c3[0], c4[0], c5[0], c6[0], c7[0]
        for j in range(row.shape[0]):
            row[j] += (a0 * c0[j] + a1 * c1[j] + a2 * c2[j] + a3 * c3[j] + a4 * c4[j] + a5 * c5[j]
                       + a6 * c6[j] + a7 * c7[j])


@njit(inline="always", **MOMENT_FLAGS)
def _add_feature_sums(c, p, g, value_index, cross, value_sums):
    """For every feature f: ``cross[f] += g[f, p] * c`` and, where ``value_index[f, p] >= 0``,
    ``value_sums[value_index[f, p]] += c``."""
    H = c.shape[0]
    for f in range(g.shape[0]):
        gp = g[f, p]
        acc = cross[f]
        k = value_index[f, p]
        if k >= 0:
            row = value_sums[k]
            for j in range(H):
                acc[j] += gp * c[j]
                row[j] += c[j]
        else:
            for j in range(H):
                acc[j] += gp * c[j]


@njit(**MOMENT_FLAGS)
def chunk_moments_kernel(states, shift, centred, sums, upper, g, value_index, cross, value_sums):
    """With ``c_p = states[p] - shift`` (float64): ``sums += sum_p c_p``; for j >= i,
    ``upper[i, j] += sum_p c_p[i] c_p[j]`` (see :func:`_add_products` for the entries below the
    diagonal); for every feature f, ``cross[f] += sum_p g[f, p] c_p`` and
    ``value_sums[value_index[f, p]] += c_p`` where that index is >= 0.

    ``centred`` receives ``c_p`` when it has a row per position; a scratch of
    :data:`POSITIONS_PER_PASS` rows keeps only the block being added.
    """
    B, H = states.shape
    keep = centred.shape[0] == B
    for p0 in range(0, B, POSITIONS_PER_PASS):
        rows = min(POSITIONS_PER_PASS, B - p0)
        c = centred[p0:p0 + POSITIONS_PER_PASS] if keep else centred
        for q in range(rows):
            cq = c[q]
            s = states[p0 + q]
            for j in range(H):
                cq[j] = s[j] - shift[j]
                sums[j] += cq[j]
            _add_feature_sums(cq, p0 + q, g, value_index, cross, value_sums)
        if rows == POSITIONS_PER_PASS:
            _add_products(c, upper)
        else:
            for q in range(rows):
                for i in range(H):
                    a = c[q, i]
                    row = upper[i, i:]
                    cq = c[q, i:]
                    for j in range(row.shape[0]):
                        row[j] += a * cq[j]


@njit(**MOMENT_FLAGS)
def feature_sums_kernel(centred, g, value_index, cross, value_sums):
    """For every feature f and position p: ``cross[f] += g[f, p] * centred[p]`` and
    ``value_sums[value_index[f, p]] += centred[p]`` where that index is >= 0."""
    for p in range(centred.shape[0]):
        _add_feature_sums(centred[p], p, g, value_index, cross, value_sums)


def warm(exact: bool = True) -> None:
    """Compile both kernels for the array types :class:`~factormap.engine.factor_map.moments.StateMoments`
    and :class:`~factormap.engine.factor_map.moments.FeatureMoments` pass: read-only float32 states
    (and, with ``exact``, float64 ones: a float64 model's), float64 shifted states."""
    H, B = 3, POSITIONS_PER_PASS + 1
    centred = np.empty((B, H))
    features = (np.zeros((1, B)), np.zeros((1, B), np.intp), np.zeros((1, H)), np.zeros((1, H)))
    for dtype in (np.float32, np.float64)[:1 + exact]:
        chunk_moments_kernel(read_only(np.zeros((B, H), dtype)), np.zeros(H), centred, np.zeros(H), np.zeros((H, H)),
                             *features)
    feature_sums_kernel(centred, *features)
