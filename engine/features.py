"""Interpretable per-position features of a text, aligned with the hidden states.

Every feature is a function of the text's bytes ``x`` and gives one number per position t, aligned
with ``h_t``: the state *after* reading ``x_t``, so a feature at t may depend on ``x_0..x_t``
(all the standard features are causal in this sense). Features are float64 arrays of shape (n,)
except :func:`char_class`, which gives small integer codes named in :data:`CHAR_CLASS_NAMES`.

Besides the built-in features, a researcher can probe their own hypothesis without code: a binary
feature from a regular expression (:func:`regex_feature`) or a numeric one read from a file of one
number per byte position (:func:`numeric_feature_file`).
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.forward import as_bytes_array

SPACE, NEWLINE, TAB = 0x20, 0x0A, 0x09
LT, GT, SLASH, BANG, QUESTION = (ord(c) for c in "<>/!?")

#: Names of the :func:`char_class` codes, in code order (code i is ``CHAR_CLASS_NAMES[i]``).
CHAR_CLASS_NAMES = ("letter", "digit", "space", "punctuation", "markup", "other")


class FeatureError(FactormapError):
    """A user-defined feature that cannot be used (bad regex, unreadable or malformed number file)."""


def _word_separators(x: np.ndarray) -> np.ndarray:
    return (x == SPACE) | (x == NEWLINE) | (x == TAB)


def word_len(x) -> np.ndarray:
    """Bytes since the last space, newline or tab, counting ``x_t``; 0 on those bytes. Not capped.

    ``word_len[t] = t - s`` where s is the last position <= t holding 0x20, 0x0A or 0x09
    (``s = -1`` when there is none, so the first word counts from the start of the text).
    """
    x = as_bytes_array(x)
    idx = np.arange(x.size)
    last_sep = np.maximum.accumulate(np.where(_word_separators(x), idx, -1)) if x.size else idx
    return (idx - last_sep).astype(np.float64)


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
    x = as_bytes_array(x)
    idx = np.arange(x.size)
    last_lt = np.maximum.accumulate(np.where(x == LT, idx, -1)) if x.size else idx
    last_gt = np.maximum.accumulate(np.where(x == GT, idx, -1)) if x.size else idx
    return (last_lt > last_gt).astype(np.float64)


def tag_depth(x) -> np.ndarray:
    """Opening tags minus closing tags completed at or before t: the element nesting depth.

    A tag takes effect at its closing ``>`` (the byte at which its kind is known, so the feature
    stays causal): a tag that opened with ``</`` counts -1, one that ends with ``/>`` counts 0
    (self-closing), ``<!...>`` and ``<?...>`` (comments, declarations) and ``<>`` count 0, any
    other ``<...>`` counts +1. A ``>`` outside a tag changes nothing. The depth is not clamped: a text cut in the
    middle of a document can go negative.
    """
    x = as_bytes_array(x)
    step = np.zeros(x.size, np.float64)
    if x.size == 0:
        return step
    idx = np.arange(x.size)
    last_lt = np.maximum.accumulate(np.where(x == LT, idx, -1))
    last_gt = np.maximum.accumulate(np.where(x == GT, idx, -1))
    ends = np.flatnonzero(x == GT)
    ends = ends[ends > 0]
    prev_gt = last_gt[ends - 1]
    start = last_lt[ends]
    closes_a_tag = start > prev_gt
    ends, start = ends[closes_a_tag], start[closes_a_tag]
    nonempty = start + 1 < ends
    ends, start = ends[nonempty], start[nonempty]
    second = x[start + 1]
    closing = second == SLASH
    opening = ~closing & (second != BANG) & (second != QUESTION) & (x[ends - 1] != SLASH)
    step[ends[closing]] = -1.0
    step[ends[opening]] = 1.0
    return np.cumsum(step)


def after_space(x) -> np.ndarray:
    """1 where the previous byte ``x_{t-1}`` is a space (0x20 only), else 0; 0 at t = 0."""
    x = as_bytes_array(x)
    out = np.zeros(x.size, np.float64)
    out[1:] = x[:-1] == SPACE
    return out


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


def regex_feature(text_bytes: bytes, pattern: str | bytes) -> np.ndarray:
    """1 at every position covered by a match of ``pattern`` over the text's bytes, else 0.

    The pattern is a Python ``re`` bytes pattern (a ``str`` is encoded as UTF-8); matches are the
    non-overlapping ones of ``re.finditer``, and a match covers ``[start, end)`` (an empty match
    covers nothing).

    Raises:
        FeatureError: the pattern does not compile.
    """
    if isinstance(pattern, str):
        pattern = pattern.encode("utf-8")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise FeatureError(f"invalid regular expression {pattern.decode('utf-8', 'replace')!r}: {exc}") from None
    text = bytes(text_bytes)
    delta = np.zeros(len(text) + 1, np.int64)
    for match in compiled.finditer(text):
        delta[match.start()] += 1
        delta[match.end()] -= 1
    return (np.cumsum(delta[:-1]) > 0).astype(np.float64)


def numeric_feature_file(path: str | os.PathLike, n: int) -> np.ndarray:
    """A numeric feature read from a text file of ``n`` numbers, one per byte position.

    Numbers are separated by whitespace (one per line is the intended layout); each is parsed by
    Python's ``float`` and must be finite. The file is only read.

    Raises:
        FeatureError: the file is missing or unreadable, holds a token that is not a finite number,
            or holds a different count of numbers than ``n``.
    """
    path = Path(path)
    try:
        tokens = path.read_bytes().split()
    except FileNotFoundError:
        raise FeatureError(f"{path}: no such feature file") from None
    except IsADirectoryError:
        raise FeatureError(f"{path}: is a directory, not a feature file") from None
    except OSError as exc:
        raise FeatureError(f"{path}: cannot read the feature file ({exc.strerror or exc})") from None
    try:
        values = np.array(tokens, dtype=np.bytes_).astype(np.float64) if tokens else np.empty(0)
    except ValueError:
        bad = next(i for i, token in enumerate(tokens) if not _parses_as_float(token))
        raise FeatureError(f"{path}: entry {bad + 1} ({tokens[bad].decode('utf-8', 'replace')!r}) "
                           f"is not a number") from None
    finite = np.isfinite(values)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise FeatureError(f"{path}: entry {bad + 1} ({tokens[bad].decode('utf-8', 'replace')!r}) "
                           f"is not a finite number")
    if values.size != n:
        raise FeatureError(f"{path}: holds {values.size} numbers but the text has {n} bytes; "
                           f"one number per byte position is needed")
    return values


def _parses_as_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def standard_features(x) -> dict[str, np.ndarray]:
    """The research's features of ``x``: word_len (uncapped), in_tag, tag_depth, after_space."""
    x = as_bytes_array(x)
    return {
        "word_len": word_len(x),
        "in_tag": in_tag(x),
        "tag_depth": tag_depth(x),
        "after_space": after_space(x),
    }
