"""Interpretable per-position features of a text, aligned with the hidden states.

Every feature is a function of the text's bytes ``x`` and gives one number per position t, aligned
with ``h_t``: the state *after* reading ``x_t``, so a feature at t may depend on ``x_0..x_t``
(all the standard features are causal in this sense). Features are float64 arrays of shape (n,)
except :func:`char_class`, which gives small integer codes named in :data:`CHAR_CLASS_NAMES`.

Each standard feature is defined once, over a range of positions given what the bytes before it
leave behind (:func:`features_of_range`, :class:`FeatureCarry`): the whole-text functions are
that range taken as [0, n), and :mod:`factormap.engine.factor_map.stream` walks a long text range by
range in bounded memory with the same values.

A researcher's own features (``NAME=REGEX``, ``NAME=@FILE``) are defined in
:mod:`factormap.engine.factor_map.user_features`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.forward import as_bytes_array

SPACE, NEWLINE, TAB = 0x20, 0x0A, 0x09
LT, GT, SLASH, BANG, QUESTION = (ord(c) for c in "<>/!?")

#: Names of the :func:`char_class` codes, in code order (code i is ``CHAR_CLASS_NAMES[i]``).
CHAR_CLASS_NAMES = ("letter", "digit", "space", "punctuation", "markup", "other")


class FeatureError(FactormapError):
    """A feature that cannot be used: an unknown standard feature, a bad regex, an unusable number file."""


def _word_separators(x: np.ndarray) -> np.ndarray:
    return (x == SPACE) | (x == NEWLINE) | (x == TAB)


def word_len(x) -> np.ndarray:
    """Bytes since the last space, newline or tab, counting ``x_t``; 0 on those bytes. Not capped.

    ``word_len[t] = t - s`` where s is the last position <= t holding 0x20, 0x0A or 0x09
    (``s = -1`` when there is none, so the first word counts from the start of the text).
    """
    return _whole_text(x, "word_len")


def word_len_capped(x, cap: int) -> np.ndarray:
    """``min(word_len(x), cap)``: the research's C tools used ``cap = 15``; label it as capped."""
    if cap < 0:
        raise FeatureError(f"the word-length cap must be 0 or more, got {cap}")
    return np.minimum(word_len(x), float(cap))


def in_tag(x) -> np.ndarray:
    """1 from a ``<`` (inclusive) up to the next ``>``, which sets it back to 0 (``>`` itself is 0).

    ``in_tag[t] = 1`` when the last ``<`` or ``>`` at or before t is a ``<``, else 0. The ``>``
    counting as 0 is what the research measured: with it the covariance readout of
    ``../shared/reference`` gives r = 0.573, the published figure (0.583 with ``>`` as 1).
    """
    return _whole_text(x, "in_tag")


def tag_depth(x) -> np.ndarray:
    """Opening tags minus closing tags completed at or before t: the element nesting depth.

    A tag takes effect at its closing ``>`` (the byte at which its kind is known, so the feature
    stays causal): a tag that opened with ``</`` counts -1, one that ends with ``/>`` counts 0
    (self-closing), ``<!...>`` and ``<?...>`` (comments, declarations) and ``<>`` count 0, any
    other ``<...>`` counts +1. A ``>`` outside a tag changes nothing. The depth is not clamped: a text cut in the
    middle of a document can go negative.
    """
    return _whole_text(x, "tag_depth")


def after_space(x) -> np.ndarray:
    """1 where the previous byte ``x_{t-1}`` is a space (0x20 only), else 0; 0 at t = 0."""
    return _whole_text(x, "after_space")


#: The research's features, in the order :func:`standard_features` and :func:`features_of_range` give them.
STANDARD_FEATURES = ("word_len", "in_tag", "tag_depth", "after_space")


@dataclass(frozen=True, slots=True)
class FeatureCarry:
    """What the standard features at positions t >= t0 need to know of the bytes before t0.

    Attributes
    ----------
    last_separator
        the last position < t0 holding a space, newline or tab (-1: none).
    last_lt
        the last position < t0 holding ``<`` (-1: none).
    last_gt
        the last position < t0 holding ``>`` (-1: none).
    depth
        ``tag_depth`` at t0 - 1 (0 at t0 = 0).
    """

    last_separator: int = -1
    last_lt: int = -1
    last_gt: int = -1
    depth: float = 0.0


def _last_hit(hits: np.ndarray, t0: int, before: int) -> np.ndarray:
    """For each t in [t0, t0 + hits.size): the last position <= t where ``hits`` holds, else ``before``."""
    last = np.where(hits, np.arange(t0, t0 + hits.size), -1)
    if last.size:
        last[0] = max(last[0], before)
    return np.maximum.accumulate(last)


def _tag_depth(x: np.ndarray, t0: int, last_lt: np.ndarray, last_gt: np.ndarray, carry: FeatureCarry) -> np.ndarray:
    """``tag_depth`` over [t0, t0 + last_lt.size) from the last ``<`` and ``>`` at or before each t."""
    step = np.zeros(last_lt.size, np.float64)
    ends = np.flatnonzero(x[t0:t0 + last_lt.size] == GT)  # offsets of the '>' in the range
    prev_gt = np.where(ends > 0, last_gt[ends - 1], carry.last_gt)
    start = last_lt[ends]
    closes_a_tag = start > prev_gt
    ends, start = ends[closes_a_tag], start[closes_a_tag]
    nonempty = start + 1 < ends + t0
    ends, start = ends[nonempty], start[nonempty]
    second = x[start + 1]
    closing = second == SLASH
    opening = ~closing & (second != BANG) & (second != QUESTION) & (x[ends + t0 - 1] != SLASH)
    step[ends[closing]] = -1.0
    step[ends[opening]] = 1.0
    return np.cumsum(step) + carry.depth


def _after_space(x: np.ndarray, t0: int, t1: int) -> np.ndarray:
    out = np.zeros(t1 - t0, np.float64)
    if t1 > t0:
        first = max(t0, 1)
        out[first - t0:] = x[first - 1:t1 - 1] == SPACE
    return out


def features_of_range(x, t0: int, t1: int, carry: FeatureCarry = FeatureCarry(),
                      names: tuple[str, ...] = STANDARD_FEATURES) -> tuple[dict[str, np.ndarray], FeatureCarry]:
    """The standard features ``names`` at positions [t0, t1) of x, and the carry at t1.

    This is the one definition of each standard feature: the whole-text functions (:func:`word_len`,
    :func:`in_tag`, :func:`tag_depth`, :func:`after_space`) are this over [0, n), and a text walked
    range by range, each range given the carry the previous one returned (``FeatureCarry()`` at
    t0 = 0), gives the same values bit for bit (:class:`~factormap.engine.factor_map.stream.FeatureStream`).

    Parameters
    ----------
    x : the whole text's bytes (some features look back before t0: ``x_{t0-1}``, a tag's first bytes).
    t0, t1 : the range, ``0 <= t0 <= t1 <= n``.
    carry : what the features need of the bytes before t0 (as returned for the range ending at t0).
    names : which of :data:`STANDARD_FEATURES` to compute, in the order wanted.

    Returns
    -------
    (name -> float64 array of shape (t1 - t0,), the carry at t1). Carry fields that ``names`` do not
    need are passed on unchanged (word_len needs ``last_separator``; in_tag ``last_lt`` and
    ``last_gt``; tag_depth those and ``depth``; after_space none).

    Raises
    ------
    FeatureError
        A name that is not a standard feature.
    """
    unknown = [name for name in names if name not in STANDARD_FEATURES]
    if unknown:
        raise FeatureError(f"no standard feature named {unknown[0]!r}; they are {', '.join(STANDARD_FEATURES)}")
    x = as_bytes_array(x)
    xs = x[t0:t1]
    out: dict[str, np.ndarray] = {}
    last_separator, last_lt, last_gt, depth = carry.last_separator, carry.last_lt, carry.last_gt, carry.depth
    if "word_len" in names:
        last_sep = _last_hit(_word_separators(xs), t0, last_separator)
        out["word_len"] = (np.arange(t0, t1) - last_sep).astype(np.float64)
        last_separator = int(last_sep[-1]) if xs.size else last_separator
    if "in_tag" in names or "tag_depth" in names:
        lts, gts = _last_hit(xs == LT, t0, last_lt), _last_hit(xs == GT, t0, last_gt)
        out["in_tag"] = (lts > gts).astype(np.float64)
        if "tag_depth" in names:
            out["tag_depth"] = _tag_depth(x, t0, lts, gts, carry)
            depth = float(out["tag_depth"][-1]) if xs.size else depth
        last_lt, last_gt = (int(lts[-1]), int(gts[-1])) if xs.size else (last_lt, last_gt)
    if "after_space" in names:
        out["after_space"] = _after_space(x, t0, t1)
    return {name: out[name] for name in names}, FeatureCarry(last_separator, last_lt, last_gt, depth)


def _whole_text(x, name: str) -> np.ndarray:
    x = as_bytes_array(x)
    return features_of_range(x, 0, x.size, names=(name,))[0][name]


def _char_class_table() -> np.ndarray:
    table = np.full(256, CHAR_CLASS_NAMES.index("other"), np.int8)
    for c in string.ascii_letters:
        table[ord(c)] = CHAR_CLASS_NAMES.index("letter")
    for c in string.digits:
        table[ord(c)] = CHAR_CLASS_NAMES.index("digit")
    for c in string.punctuation:
        table[ord(c)] = CHAR_CLASS_NAMES.index("punctuation")
    for c in " \t\n\r\x0b\x0c":
        table[ord(c)] = CHAR_CLASS_NAMES.index("space")
    for c in "<>":
        table[ord(c)] = CHAR_CLASS_NAMES.index("markup")
    return table


_CHAR_CLASS = _char_class_table()


def char_class(x) -> np.ndarray:
    """The class of ``x_t`` as an int8 code; ``CHAR_CLASS_NAMES[code]`` names it.

    letter: ASCII A-Z, a-z; digit: 0-9; space: space, tab, newline, CR, VT, FF; markup: ``<`` and
    ``>``; punctuation: the other ASCII punctuation (``string.punctuation``); other: control bytes,
    DEL and every byte >= 0x80.
    """
    return _CHAR_CLASS[as_bytes_array(x)]


def standard_features(x) -> dict[str, np.ndarray]:
    """The research's features of ``x`` as whole-text arrays: word_len (uncapped), in_tag, tag_depth,
    after_space (8 bytes per text byte each; :class:`~factormap.engine.factor_map.stream.FeatureStream`
    gives them range by range in bounded memory)."""
    x = as_bytes_array(x)
    return features_of_range(x, 0, x.size)[0]
