"""The K highest and K lowest values of a column seen block by block, in memory set by K."""

from __future__ import annotations

import numpy as np


class RunningExtremes:
    """Keeps the ``count`` largest and ``count`` smallest values of a streamed column.

    Order: the highest are ranked by value descending, the lowest by value ascending; equal
    values rank by position, the earliest first (so the result equals a stable sort of the whole
    column). Memory: ``4 * count`` numbers plus one block.

    Parameters
    ----------
    count : K, 0 or more.
    """

    def __init__(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"count must be 0 or more, got {count}")
        self.count = int(count)
        self._top = (np.empty(0), np.empty(0, np.int64))
        self._bottom = (np.empty(0), np.empty(0, np.int64))

    def add(self, t0: int, values: np.ndarray) -> None:
        """Take in ``values[i]`` as the column's value at position ``t0 + i``."""
        positions = np.arange(t0, t0 + values.size, dtype=np.int64)
        self._top = self._keep(self._top, values, positions, descending=True)
        self._bottom = self._keep(self._bottom, values, positions, descending=False)

    def _keep(self, kept, values, positions, descending: bool):
        v = np.concatenate([kept[0], values])
        p = np.concatenate([kept[1], positions])
        key = -v if descending else v
        if v.size > 4 * self.count + 64:  # only the block's candidates need the full sort
            kth = np.partition(key, self.count)[self.count] if self.count < v.size else np.inf
            chosen = key <= kth
            v, p, key = v[chosen], p[chosen], key[chosen]
        order = np.lexsort((p, key))[:self.count]
        return v[order], p[order]

    @property
    def top(self) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, values)`` of the highest values, highest first."""
        return self._top[1].copy(), self._top[0].copy()

    @property
    def bottom(self) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, values)`` of the lowest values, lowest first."""
        return self._bottom[1].copy(), self._bottom[0].copy()
