"""Exact per-row medians of a non-negative (rows, columns) array that is only ever seen block by block.

Values are counted on fixed log-spaced bins (:func:`value_bins`: a value's float64 exponent and the
top :data:`MANTISSA_BITS` bits of its mantissa, so the bins are ordered exactly as the values are);
the counts locate, per row, the bin of each middle order statistic and its rank inside that bin,
and sorting the values of those (at most two) bins gives the order statistics exactly. The median
follows ``np.median``: the middle value of an odd count, the mean of the two middle values (in the
values' dtype) of an even one, NaN when the row holds a NaN or no value.

The values of the median bins are known once every block has been counted, so in general the array
is streamed twice (the same column blocks in the same order, recomputed, never stored): the first
pass counts, the second keeps the values of the median bins. With a ``keep_budget`` the first pass
also keeps, per row, every value inside a window of bins guessed to hold the median: all values
until the row has :data:`GUESS_SAMPLE` of them, then the bins between its quantiles
``0.5 -+ GUESS_SPREAD``; when the kept values outgrow the budget, each window shrinks to the
quantiles of half the spread of the counts so far (windows only shrink, so a bin still inside one
has all its values kept). When the counted median bins lie inside the windows (:meth:`StreamedMedian.resolved`),
the medians come from the first pass alone; otherwise the second pass is needed as without a budget.

Memory: the counts, ``rows x`` about 15,000 int64, plus the kept values (with their int64 keys:
a median bin spans a factor of at most ``1 + 2**-MANTISSA_BITS``, so a spread-out row keeps
a small fraction of its values; exact zeros have a bin of their own and are never kept), at most
about ``keep_budget`` bytes in the first pass.
"""

from __future__ import annotations

import numpy as np

from factormap.engine.kernels.value_bins import count_bins_kernel, keep_in_windows_kernel

#: Mantissa bits that split each power of two into bins.
MANTISSA_BITS = 8
#: Values in [LOW, HIGH) get bins of their own; smaller positive ones share one bin, larger ones another.
LOW, HIGH = 2.0 ** -40, 2.0 ** 20
_SHIFT = 52 - MANTISSA_BITS
_FIRST = int(np.array(LOW).view(np.int64)) >> _SHIFT
_LAST = int(np.array(HIGH).view(np.int64)) >> _SHIFT
_ZERO_BIN = 0
_TOP_BIN = _LAST - _FIRST + 2
_NAN_BIN = _TOP_BIN + 1
_BINS = _TOP_BIN + 2
#: The bins' numbers as :mod:`factormap.engine.kernels.value_bins` takes them.
_LAYOUT = np.array([_SHIFT, _FIRST - 2, _TOP_BIN, _NAN_BIN], np.int64)
#: Values a row keeps in full before its window of bins is guessed from them.
GUESS_SAMPLE = 4096
#: Half the width, in quantiles, of a guessed window: ``[0.5 - GUESS_SPREAD, 0.5 + GUESS_SPREAD]``.
GUESS_SPREAD = 0.05
#: Narrowest half width a window shrinks to; past it the first pass gives up keeping values.
LEAST_SPREAD = 1e-4


def value_bins(values: np.ndarray) -> np.ndarray:
    """The bin of each value (int64), in the order of the values: 0 for 0; 1 for (0, LOW);
    ``2 + (bits(v) >> (52 - MANTISSA_BITS)) - (bits(LOW) >> (52 - MANTISSA_BITS))`` for v in [LOW, HIGH),
    ``bits`` being the float64 bit pattern (ordered as the value for v >= 0); one bin for [HIGH, inf];
    the last for NaN.
    """
    v = np.asarray(values, np.float64)
    if np.any(v < 0):
        raise ValueError("streamed medians take non-negative values only")
    bins = np.clip((v.view(np.int64) >> _SHIFT) - (_FIRST - 2), 1, _TOP_BIN)
    bins[v == 0] = _ZERO_BIN
    bins[np.isnan(v)] = _NAN_BIN
    return bins


class StreamedMedian:
    """Exact medians of each row of a (rows, columns) array given block by block.

    Call :meth:`count` with every block (first pass); unless :meth:`resolved`, call :meth:`keep`
    with every block again in the same order (second pass); then :meth:`medians`. ``present`` masks
    the entries that belong to the row (absent ones are ignored in both passes). With
    ``keep_budget`` (bytes, 0 for none) the first pass keeps the values of guessed windows of bins
    (see the module's docs), so that it is usually the only one.
    """

    def __init__(self, rows: int, keep_budget: int = 0) -> None:
        self.rows = int(rows)
        self.counts = np.zeros((self.rows, _BINS), np.int64)
        self.keep_budget = int(keep_budget)
        self._targets: tuple[np.ndarray, ...] | None = None
        self._kept: list[tuple[np.ndarray, np.ndarray]] = []
        self._windowed = self.keep_budget > 0
        self._spread = GUESS_SPREAD
        self._guessed = np.zeros(self.rows, bool)
        self._low = np.zeros(self.rows, np.int64)
        self._high = np.full(self.rows, _NAN_BIN - 1, np.int64)

    def count(self, values: np.ndarray, present: np.ndarray) -> None:
        """First pass: add a block's present values to each row's bin counts (and, with a
        ``keep_budget``, keep those inside the rows' windows)."""
        values, present = np.ascontiguousarray(values), np.ascontiguousarray(present, bool)
        if not count_bins_kernel(values, present, _LAYOUT, self.counts):
            raise ValueError("streamed medians take non-negative values only")
        if self._windowed:
            self._keep_windows(values, present)

    def _keep_windows(self, values: np.ndarray, present: np.ndarray) -> None:
        """Guess the windows of rows that now have :data:`GUESS_SAMPLE` values (this block counted);
        keep the block's values inside the windows; halve the spread while the kept values exceed
        the budget. Guessing before keeping holds a first block of (K+1) x BLOCK values to its windows."""
        fresh = ~self._guessed & (self.counts[:, :_NAN_BIN].sum(axis=1) >= GUESS_SAMPLE)
        if fresh.any():
            self._guessed |= fresh
            self._narrow(fresh)
        keys, kept = np.empty(values.size, np.int64), np.empty(values.size, values.dtype)
        n = keep_in_windows_kernel(values, present, _LAYOUT, np.stack([self._low, self._high]), keys, kept)
        self._kept.append((keys[:n].copy(), kept[:n].copy()))
        while sum(k.nbytes + v.nbytes for k, v in self._kept) > self.keep_budget:
            self._spread /= 2
            if self._spread < LEAST_SPREAD:  # ties fill the middle bins beyond the budget
                self._windowed, self._kept = False, []
                return
            self._narrow(self._guessed)

    def _narrow(self, rows: np.ndarray) -> None:
        """Shrink the windows of ``rows`` (bool mask) to the bins of their counted quantiles
        ``0.5 -+ spread``, and drop the kept values outside every window."""
        cum = np.cumsum(self.counts[:, :_NAN_BIN], axis=1)
        for k in np.flatnonzero(rows):
            last = cum[k, -1] - 1
            ranks = [np.floor((0.5 - self._spread) * last), np.ceil((0.5 + self._spread) * last)]
            low, high = np.searchsorted(cum[k], ranks, side="right")
            self._low[k], self._high[k] = max(self._low[k], low), min(self._high[k], high)
        if not self._kept:
            return
        keys = np.concatenate([k for k, _ in self._kept])
        values = np.concatenate([v for _, v in self._kept])
        bins, row = keys % _BINS, keys // _BINS
        inside = (bins >= self._low[row]) & (bins <= self._high[row])
        self._kept = [(keys[inside], values[inside])]

    def resolved(self) -> bool:
        """Whether the first pass kept every value of each row's median bins (no second pass needed)."""
        if not self._windowed:
            return False
        _, bins, _ = self._locate()
        inside = (bins >= self._low[:, None]) & (bins <= self._high[:, None])
        return bool(np.all(inside | (bins < 0) | (bins == _ZERO_BIN)))

    def _locate(self) -> tuple[np.ndarray, ...]:
        """Per row: the ranks of the two middle values, their bins (-1 for a NaN or empty row) and
        the number of values in bins below each."""
        size = self.counts[:, :_NAN_BIN].sum(axis=1)
        ranks = np.stack([(size - 1) // 2, size // 2], axis=1)
        cum = np.cumsum(self.counts[:, :_NAN_BIN], axis=1)
        bins = np.stack([np.searchsorted(cum[k], ranks[k], side="right") for k in range(self.rows)])
        bins = np.minimum(bins, _NAN_BIN - 1)  # an empty row's ranks are past its (zero) counts
        below = np.take_along_axis(cum, bins, axis=1) - np.take_along_axis(self.counts, bins, axis=1)
        undefined = (size == 0) | (self.counts[:, _NAN_BIN] > 0)
        bins[undefined] = -1
        return ranks, bins, below

    def keep(self, values: np.ndarray, present: np.ndarray) -> None:
        """Second pass: keep a block's values that fall into a row's median bins (the first
        pass's windows are dropped)."""
        if self._targets is None:
            self._targets = self._locate()
            self._windowed, self._kept = False, []
        _, bins, _ = self._targets
        own = value_bins(values)
        wanted = present & (own != _ZERO_BIN) & ((own == bins[:, :1]) | (own == bins[:, 1:]))
        rows, cols = np.nonzero(wanted)
        self._kept.append((rows * _BINS + own[rows, cols], values[rows, cols]))

    def merge(self, other: "StreamedMedian") -> None:
        """Add another part's counts (first pass) and kept values (second pass).

        Splits one pass over the blocks into parts (shards of the columns): the counts are integers
        and the kept values the values themselves, so merged parts give exactly the medians of one
        pass. Each part's second pass must locate the median bins from the merged counts (set
        :attr:`counts` to them before its first :meth:`keep`).
        """
        self.counts += other.counts
        self._kept += other._kept

    def medians(self, dtype) -> np.ndarray:
        """float64 (rows,): each row's median by ``np.median``'s convention, computed in ``dtype``."""
        ranks, bins, below = self._targets if self._targets is not None else self._locate()
        keys = np.concatenate([k for k, _ in self._kept] + [np.empty(0, np.int64)])
        values = np.concatenate([v for _, v in self._kept] + [np.empty(0, dtype)]).astype(dtype)
        row, own = keys // _BINS, keys % _BINS
        middle_bins = (own == bins[row, 0]) | (own == bins[row, 1])  # a first pass keeps whole windows
        keys, values = keys[middle_bins], values[middle_bins]
        order = np.lexsort((values, keys))
        keys, values = keys[order], values[order]
        out = np.full(self.rows, np.nan)
        for k in range(self.rows):
            if bins[k, 0] < 0:
                continue
            middle = []
            for rank, b, under in zip(ranks[k], bins[k], below[k]):
                if b == _ZERO_BIN:
                    middle.append(0.0)
                    continue
                lo, hi = np.searchsorted(keys, [k * _BINS + b, k * _BINS + b + 1])
                if hi - lo != self.counts[k, b]:
                    raise RuntimeError("the second pass did not see the values of the first")
                middle.append(values[lo + rank - under])
            pair = middle[:1] if ranks[k, 0] == ranks[k, 1] else middle
            out[k] = np.median(np.array(pair, dtype))
        return out
