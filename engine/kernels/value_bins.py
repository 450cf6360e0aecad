"""One-pass counting and keeping of non-negative values on ordered bins (for streamed medians).

A value's bin (:func:`factormap.engine.attribution.streamed_median.value_bins` defines them; its
``layout`` array carries the numbers) is 0 for 0, ``layout[3]`` for NaN, and otherwise
``(bits >> layout[0]) - layout[1]`` clipped to ``[1, layout[2]]``, ``bits`` being the float64 bit
pattern of the value (ordered as the value for v >= 0). Row r's bin b is counted at
``counts[r, b]``; a kept value's key is ``r * (layout[3] + 1) + b``. One pass each, instead of
numpy's dozen over a (K+1, 16,384) block of gradient norms.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS_EXACT


@njit(inline="always", **NUMBA_FLAGS_EXACT)
def _bin_of(v, layout, scratch, bits):
    """The bin of the float64 ``v``; ``bits`` is the int64 view of the one-element ``scratch``."""
    if v != v:
        return layout[3]
    if v == 0:
        return 0
    scratch[0] = v
    return min(max((bits[0] >> layout[0]) - layout[1], 1), layout[2])


@njit(**NUMBA_FLAGS_EXACT)
def count_bins_kernel(values, present, layout, counts):
    """``counts[r, bin(values[r, c])] += 1`` for every present entry; False (nothing counted) when
    a present value is negative."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            if present[r, c] and values[r, c] < 0:
                return False
    scratch = np.zeros(1, np.float64)
    bits = scratch.view(np.int64)
    for r in range(rows):
        for c in range(cols):
            if present[r, c]:
                counts[r, _bin_of(np.float64(values[r, c]), layout, scratch, bits)] += 1
    return True


@njit(**NUMBA_FLAGS_EXACT)
def keep_in_windows_kernel(values, present, layout, windows, keys, kept):
    """Write the present values whose bin b is not 0 and lies in ``[windows[0, r], windows[1, r]]``
    of their row to ``kept[:n]``, their keys to ``keys[:n]``, in row-major order; returns n."""
    rows, cols = values.shape
    bins = layout[3] + 1
    scratch = np.zeros(1, np.float64)
    bits = scratch.view(np.int64)
    n = 0
    for r in range(rows):
        low, high = windows[0, r], windows[1, r]
        for c in range(cols):
            if present[r, c]:
                b = _bin_of(np.float64(values[r, c]), layout, scratch, bits)
                if b != 0 and low <= b <= high:
                    keys[n] = r * bins + b
                    kept[n] = values[r, c]
                    n += 1
    return n


def warm(exact: bool = True) -> None:
    """Compile both kernels for float32 norms and, with ``exact``, float64 ones."""
    layout = np.array([44, 0, 10, 11], np.int64)
    present = np.ones((1, 2), bool)
    for dtype in (np.float32, np.float64)[:1 + exact]:
        values = np.ones((1, 2), dtype)
        count_bins_kernel(values, present, layout, np.zeros((1, 12), np.int64))
        keep_in_windows_kernel(values, present, layout, np.zeros((2, 1), np.int64), np.empty(2, np.int64),
                               np.empty(2, dtype))
