"""Sums of shifted states and of their products, for the streamed factor map's moments (float64).

For a block of states ``h_p`` (p = 0..B-1) and a shift ``m``, with ``c_p = h_p - m`` in float64:

- :func:`state_moments_kernel` writes ``c_p`` and adds ``sum_p c_p`` and the upper triangle
  (j >= i) of ``sum_p c_p c_p^T``;
- :func:`feature_sums_kernel` adds ``sum_p g_p c_p`` for a feature ``g``, and ``sum_p c_p`` per
  value index of the feature.

No BLAS: numpy's products run on OpenBLAS's thread pool, which on two cores competes with the
recurrence the factor map runs at the same time (measured: the whole map 7.3 s of CPU on 256 KB
with two BLAS threads, 1.2 s with one, while the machine was busy). The products take eight
positions per pass over the accumulator row, so each element of the triangle is loaded and stored
once per eight positions (0.93 us of CPU per position at H = 128, AVX-512, on a busy machine);
only contraction is allowed, not reassociation, so each element's sum runs over positions in
order, eight at a time.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT
from factormap.engine.kernels import read_only

#: Float64 products fused into multiply-adds; no reassociation (sums over positions stay ordered).
MOMENT_FLAGS = dict(NUMBA_FLAGS_EXACT, fastmath={"contract"}, error_model="numpy")
#: Positions added per pass over the accumulator.
POSITIONS_PER_PASS = 8


@njit(**MOMENT_FLAGS)
def state_moments_kernel(states, shift, centred, sums, upper):
    """``centred[p] = states[p] - shift``; ``sums += sum_p centred[p]``; for j >= i,
    ``upper[i, j] += sum_p centred[p, i] * centred[p, j]`` (entries below the diagonal untouched)."""
    B, H = states.shape
    for p in range(B):
        c = centred[p]
        s = states[p]
        for j in range(H):
            c[j] = s[j] - shift[j]
            sums[j] += c[j]
    whole = B - B % POSITIONS_PER_PASS
    for p in range(0, whole, POSITIONS_PER_PASS):
        for i in range(H):
            # row i's triangle and the eight positions' entries from i on, as slices: LLVM
            # vectorises the loop over j only when it runs from 0 over arrays of its own length
            a0, a1, a2, a3 = centred[p, i], centred[p + 1, i], centred[p + 2, i], centred[p + 3, i]
            a4, a5, a6, a7 = centred[p + 4, i], centred[p + 5, i], centred[p + 6, i], centred[p + 7, i]
            row = upper[i, i:]
            c0, c1, c2, c3 = centred[p, i:], centred[p + 1, i:], centred[p + 2, i:], centred[p + 3, i:]
            c4, c5, c6, c7 = centred[p + 4, i:], centred[p + 5, i:], centred[p + 6, i:], centred[p + 7, i:]
            for j in range(row.shape[0]):
                row[j] += (((((((a0 * c0[j] + a1 * c1[j]) + a2 * c2[j]) + a3 * c3[j]) + a4 * c4[j])
                             + a5 * c5[j]) + a6 * c6[j]) + a7 * c7[j])
    for p in range(whole, B):
        for i in range(H):
            a = centred[p, i]
            row = upper[i, i:]
            c = centred[p, i:]
            for j in range(row.shape[0]):
                row[j] += a * c[j]


@njit(**MOMENT_FLAGS)
def feature_sums_kernel(centred, g, value_index, cross, value_sums):
    """``cross += sum_p g[p] * centred[p]`` and ``value_sums[value_index[p]] += centred[p]``
    (no value sums when ``value_sums`` has no rows)."""
    B, H = centred.shape
    keep_values = value_sums.shape[0] > 0
    for p in range(B):
        c = centred[p]
        gp = g[p]
        for j in range(H):
            cross[j] += gp * c[j]
        if keep_values:
            row = value_sums[value_index[p]]
            for j in range(H):
                row[j] += c[j]


def warm(exact: bool = True) -> None:
    """Compile both kernels for the one array type :class:`~factormap.engine.factor_map.moments.StateMoments`
    passes (read-only float64 states: float32 sessions' states are widened first, a copy that costs
    a tenth of the kernel), so ``exact`` adds nothing."""
    H, B = 3, POSITIONS_PER_PASS + 1
    centred = np.empty((B, H))
    state_moments_kernel(read_only(np.zeros((B, H))), np.zeros(H), centred, np.zeros(H), np.zeros((H, H)))
    feature_sums_kernel(centred, np.zeros(B), np.zeros(B, np.intp), np.zeros(H), np.zeros((1, H)))
