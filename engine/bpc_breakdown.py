"""Where the bits go: the text's BPC broken down by the kind of byte being predicted.

Prediction t (t = 0..n-2) is made from ``h_t`` and costs ``bits[t] = -log2 max(p_t(x_{t+1}), 1e-8)``;
every breakdown here groups predictions by a property of the byte they predict, ``x_{t+1}``
(its :func:`~factormap.engine.features.char_class`, whether it lies inside a tag by
:func:`~factormap.engine.features.in_tag`, its position in the word by
:func:`~factormap.engine.features.word_len`). The representative of a group is its
worst-predicted occurrence: the prediction t of the group with the most bits (the first such t on
ties), the position the app jumps to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import Cancelled
from factormap.engine.features import CHAR_CLASS_NAMES, char_class, in_tag, word_len

#: Positions in the word from this one on share the last group ("16+").
WORD_POSITIONS = 16

#: How many of the worst predictions are listed.
WORST = 10

#: Names of the two tag groups, in group order (code 0 = outside, 1 = inside).
TAG_NAMES = ("outside tags", "inside tags")


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
        """JSON-ready figures, one entry per group name."""
        return {name: {"count": int(self.count[g]), "mean_bits": _float(self.mean_bits[g]),
                       "share": _float(self.share[g]), "worst_position": int(self.worst[g])}
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


def bits_by_group(bits: np.ndarray, codes: np.ndarray, names: tuple[str, ...]) -> BitsByGroup:
    """Group ``bits`` by ``codes`` (same length, codes in 0..len(names)-1); see :class:`BitsByGroup`."""
    bits = np.asarray(bits, np.float64)
    codes = np.asarray(codes, np.int64)
    G = len(names)
    count = np.bincount(codes, minlength=G)
    sums = np.bincount(codes, weights=bits, minlength=G)
    total = float(bits.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, sums / np.maximum(count, 1), np.nan)
    share = sums / total if total > 0 else np.full(G, np.nan)
    # Sort by (code, -bits, t): the first row of each code is its worst prediction, earliest on ties.
    order = np.lexsort((np.arange(bits.size), -bits, codes))
    firsts = np.searchsorted(codes[order], np.arange(G))
    worst = np.where(count > 0, order[np.minimum(firsts, max(order.size - 1, 0))], -1)
    return BitsByGroup(names=tuple(names), count=count, mean_bits=mean, share=share, worst=worst)


def bpc_breakdown(session, worst: int = WORST, word_positions: int = WORD_POSITIONS,
                  progress: Callable[[float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> BpcBreakdown:
    """The :class:`BpcBreakdown` of ``session``'s bits (the forward pass is finished first).

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
        Polled after each chunk; when true, :class:`Cancelled` is raised.

    Raises
    ------
    Cancelled
        When ``should_stop()`` returned true before the bits were known.
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
    bits = np.asarray(session.bits, np.float64)
    target = session.x[1:]
    positions = np.minimum(word_len(session.x)[1:], word_positions).astype(np.int64)
    position_names = tuple(str(k) for k in range(word_positions)) + (f"{word_positions}+",)
    worst_positions = session.worst_positions(worst)
    return BpcBreakdown(
        bpc=float(bits.mean()),
        by_class=bits_by_group(bits, char_class(target), CHAR_CLASS_NAMES),
        by_tag=bits_by_group(bits, in_tag(session.x)[1:], TAG_NAMES),
        by_word_position=bits_by_group(bits, positions, position_names),
        worst_positions=np.asarray(worst_positions, np.int64),
        worst_bits=bits[worst_positions],
    )
