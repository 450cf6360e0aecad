"""Where the bits go: the text's BPC broken down by the kind of byte being predicted.

Prediction t (t = 0..n-2) is made from ``h_t`` and costs ``bits[t] = -log2 max(p_t(x_{t+1}), 1e-8)``;
every breakdown here groups predictions by a property of the byte they predict, ``x_{t+1}``
(its :func:`~factormap.engine.factor_map.features.char_class`, whether it lies inside a tag by
:func:`~factormap.engine.factor_map.features.in_tag`, its position in the word by
:func:`~factormap.engine.factor_map.features.word_len`). The representative of a group is its
worst-predicted occurrence: the prediction t of the group with the most bits (the first such t on
ties), the position the app jumps to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.stream import FeatureStream
from factormap.engine.factor_map.features import CHAR_CLASS_NAMES, char_class

#: Positions in the word from this one on share the last group ("16+").
WORD_POSITIONS = 16

#: How many of the worst predictions are listed.
WORST = 10

#: Names of the two tag groups, in group order (code 0 = outside, 1 = inside).
TAG_NAMES = ("outside tags", "inside tags")

#: Predictions grouped per block (the memory of a block: a few arrays of this length).
BLOCK = 1 << 16


@dataclass(frozen=True, eq=False)
class BitsByGroup:
    """Bits of the predictions grouped by a code of the predicted byte.

    Attributes
    ----------
    names : tuple of str
        Group names; group g has code g.
    count : ndarray of int, shape (G,)
        Predictions t whose code ``c(x_{t+1})`` is g.
    mean_bits : ndarray of float64, shape (G,)
        ``mean of bits[t]`` over those predictions (NaN for an empty group).
    share : ndarray of float64, shape (G,)
        ``sum of bits[t]`` over the group divided by the sum over every prediction: the group's
        share of the text's total bits.
    worst : ndarray of int, shape (G,)
        The group's representative: ``argmax bits[t]`` over its predictions (first on ties), -1 when empty.
    """

    names: tuple[str, ...]
    count: np.ndarray
    mean_bits: np.ndarray
    share: np.ndarray
    worst: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready figures, one entry per group, keyed by its name in snake_case (``outside_tags``);
        an empty group's ``worst_position`` is None."""
        return {name.replace(" ", "_"): {
                    "count": int(self.count[g]), "mean_bits": _float(self.mean_bits[g]), "share": _float(self.share[g]),
                    "worst_position": int(self.worst[g]) if self.worst[g] >= 0 else None}
                for g, name in enumerate(self.names)}


@dataclass(frozen=True, eq=False)
class BpcBreakdown:
    """The BPC of a text broken down (see the module docstring for the alignment).

    Attributes
    ----------
    bpc : float
        Mean bits over every prediction.
    by_class : BitsByGroup
        Grouped by ``char_class(x_{t+1})`` (names :data:`CHAR_CLASS_NAMES`).
    by_tag : BitsByGroup
        Grouped by ``in_tag(x)[t+1]`` (names :data:`TAG_NAMES`).
    by_word_position : BitsByGroup
        Grouped by ``min(word_len(x)[t+1], word_positions)``: 0 is a space, newline or tab, 1 the
        first byte of a word; the last group holds every position from ``word_positions`` on.
    worst_positions : ndarray of int, shape (W,)
        The W predictions t with the most bits, worst first (each is its own representative).
    worst_bits : ndarray of float64, shape (W,)
        ``bits[t]`` of each.
    """

    bpc: float
    by_class: BitsByGroup
    by_tag: BitsByGroup
    by_word_position: BitsByGroup
    worst_positions: np.ndarray
    worst_bits: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready figures under keys naming the quantity (``by_class.letter.mean_bits``...)."""
        return {"bpc": self.bpc, "by_class": self.by_class.to_dict(), "by_tag": self.by_tag.to_dict(),
                "by_word_position": self.by_word_position.to_dict(),
                "worst": {"position": self.worst_positions.tolist(), "bits": self.worst_bits.tolist()}}


def _float(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


class GroupedBits:
    """Running per-group figures of bits given block by block, in positions' order (memory: a few
    numbers per group). Block after block gives the same counts, sums and representatives as the
    whole arrays at once: sums add each bit in position order, as ``np.bincount`` does.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = tuple(names)
        G = len(self.names)
        self.count = np.zeros(G, np.int64)
        self.sums = np.zeros(G)
        self.total = 0.0
        self._worst_bits = np.full(G, -np.inf)
        self.worst = np.full(G, -1, np.int64)

    def add(self, t0: int, bits: np.ndarray, codes: np.ndarray) -> None:
        """Add predictions t0, t0+1, ... with their ``bits`` and group ``codes`` (same length)."""
        bits = np.asarray(bits, np.float64)
        codes = np.asarray(codes, np.intp)
        if not bits.size:
            return
        G = len(self.names)
        counts = np.bincount(codes, minlength=G)
        self.count += counts
        np.add.at(self.sums, codes, bits)
        self.total += float(bits.sum())
        # Sort by (code, -bits, t): the first row of each code is its worst prediction, earliest on ties.
        order = np.lexsort((np.arange(bits.size), -bits, codes))
        firsts = order[np.minimum(np.searchsorted(codes[order], np.arange(G)), order.size - 1)]
        better = (counts > 0) & (bits[firsts] > self._worst_bits)
        self._worst_bits[better] = bits[firsts[better]]
        self.worst[better] = t0 + firsts[better]

    def result(self) -> BitsByGroup:
        """The :class:`BitsByGroup` of every prediction added (its share's total: the bits added)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(self.count > 0, self.sums / np.maximum(self.count, 1), np.nan)
        share = self.sums / self.total if self.total > 0 else np.full(len(self.names), np.nan)
        return BitsByGroup(names=self.names, count=self.count.copy(), mean_bits=mean, share=share,
                           worst=self.worst.copy())


def bits_by_group(bits: np.ndarray, codes: np.ndarray, names: tuple[str, ...]) -> BitsByGroup:
    """Group ``bits`` by ``codes`` (same length, codes in 0..len(names)-1); see :class:`BitsByGroup`."""
    groups = GroupedBits(names)
    groups.add(0, bits, codes)
    return groups.result()


def bpc_breakdown(session, worst: int = WORST, word_positions: int = WORD_POSITIONS,
                  progress: Callable[[float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> BpcBreakdown:
    """The :class:`BpcBreakdown` of ``session``'s bits (the forward pass is finished first).

    The groups are read block by block (:data:`BLOCK` predictions) with the features streamed
    (:class:`~factormap.engine.factor_map.stream.FeatureStream`): memory beyond the session's own
    arrays does not grow with the text.

    Parameters
    ----------
    session : Session
        At least two bytes of text.
    worst : int
        How many worst predictions to list.
    word_positions : int
        Positions in a word from this one on are grouped together (>= 1).
    progress : callable, optional
        Called with the fraction of the forward pass done after each chunk.
    should_stop : callable, optional
        Polled after each chunk of the pass and each block of the grouping; when true,
        :class:`Cancelled` is raised.

    Raises
    ------
    Cancelled
        When ``should_stop()`` returned true before the breakdown was complete.
    """
    if session.n < 2:
        raise ValueError("a breakdown of bits needs at least two bytes of text")
    if word_positions < 1:
        raise ValueError(f"word_positions must be 1 or more, got {word_positions}")
    for step in session.run(should_stop=should_stop):
        if progress is not None:
            progress(step.fraction)
    if not session.complete:
        raise Cancelled("BPC breakdown stopped")
    position_names = tuple(str(k) for k in range(word_positions)) + (f"{word_positions}+",)
    by_class, by_tag, by_word = GroupedBits(CHAR_CLASS_NAMES), GroupedBits(TAG_NAMES), GroupedBits(position_names)
    # Prediction t is grouped by the byte it predicts: features at positions p = t + 1 >= 1.
    for p0, p1, feats in FeatureStream(session.x, ("word_len", "in_tag"), BLOCK).chunks():
        if should_stop is not None and should_stop():
            raise Cancelled("BPC breakdown stopped")
        skip = 1 if p0 == 0 else 0
        t0 = p0 + skip - 1
        bits = session.bits[t0:p1 - 1]
        by_class.add(t0, bits, char_class(session.x[p0 + skip:p1]))
        by_tag.add(t0, bits, feats["in_tag"][skip:])
        by_word.add(t0, bits, np.minimum(feats["word_len"][skip:], word_positions))
    worst_positions = np.asarray(session.worst_positions(worst), np.int64)
    return BpcBreakdown(
        bpc=session.bpc,
        by_class=by_class.result(),
        by_tag=by_tag.result(),
        by_word_position=by_word.result(),
        worst_positions=worst_positions,
        worst_bits=session.bits[worst_positions].astype(np.float64),
    )
