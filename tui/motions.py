"""Cursor motions on a byte text: words, lines, search and jumps to marked positions.

Pure functions of ``(text, pos)``; each returns the new position (clamped to ``0..len(text)-1``).
Scans run in C (``bytes.find``, ``re`` and numpy) or over a bounded window, so every motion stays
fast on a 100 MB text. Words follow vim: a run of word bytes (letters, digits, ``_`` and any byte
of 0x80 or above) or a run of other non-blank bytes; blanks separate them.
"""

from __future__ import annotations

import re

import numpy as np

BACK_WINDOW = 1 << 16
"""Backward word motions look at most this many bytes back."""

_WORD = rb"A-Za-z0-9_\x80-\xff"
_RUNS = (
    re.compile(rb"\s+"),
    re.compile(rb"[" + _WORD + rb"]+"),
    re.compile(rb"[^" + _WORD + rb"\s]+"),
)
_BLANKS = _RUNS[0]
SEARCH_ESCAPES = r"\n \t \r \xNN \\"
"""The escapes a search pattern accepts (:func:`parse_pattern`), as the help and prompt list them."""
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|n|t|r|\\|x.?.?|.?)")


def byte_class(b: int) -> int:
    """0 for a blank, 1 for a word byte, 2 for any other byte."""
    if b in b" \t\n\r\x0b\x0c":
        return 0
    if b >= 0x80 or chr(b).isalnum() or b == 0x5F:
        return 1
    return 2


def _clamp(text: bytes, pos: int) -> int:
    return max(0, min(len(text) - 1, pos))


def word_forward(text: bytes, pos: int) -> int:
    """``w``: the start of the next word."""
    end = _RUNS[byte_class(text[pos])].match(text, pos).end()
    return _clamp(text, _BLANKS.match(text, end).end() if end < len(text) and byte_class(text[end]) == 0 else end)


def word_end(text: bytes, pos: int) -> int:
    """``e``: the last byte of the current word, or of the next one when already at an end."""
    p = pos + 1
    if p >= len(text):
        return _clamp(text, pos)
    m = _BLANKS.match(text, p)
    if m:
        p = m.end()
    if p >= len(text):
        return _clamp(text, len(text) - 1)
    return _clamp(text, _RUNS[byte_class(text[p])].match(text, p).end() - 1)


def word_backward(text: bytes, pos: int) -> int:
    """``b``: the start of the current word, or of the previous one when already at a start."""
    lo = max(0, pos - BACK_WINDOW)
    rev = text[lo:pos][::-1]
    if not rev:
        return 0
    i = _BLANKS.match(rev, 0)
    i = i.end() if i else 0
    if i >= len(rev):
        return lo
    i = _RUNS[byte_class(rev[i])].match(rev, i).end()
    return pos - i


def line_start(text: bytes, pos: int) -> int:
    """``0``: the first byte of the line holding ``pos``."""
    return text.rfind(b"\n", 0, pos) + 1


def line_end(text: bytes, pos: int) -> int:
    """``$``: the last byte of the line before its newline (the newline itself on an empty line)."""
    nl = text.find(b"\n", pos)
    if nl < 0:
        return len(text) - 1
    return nl - 1 if nl > line_start(text, pos) else nl


def parse_pattern(pattern: str) -> bytes:
    """A search pattern typed by a person, as bytes: UTF-8, with ``\\n \\t \\r \\xNN \\\\`` escapes.

    Raises:
        ValueError: for any other backslash (``\\q``, ``\\x4``, a lone one at the end), in one sentence.
    """
    def unescape(m: re.Match) -> str:
        code = m.group(1)
        if not re.fullmatch(r"x[0-9a-fA-F]{2}|n|t|r|\\", code):
            raise ValueError(f"unknown escape '\\{code}' in the search: use one of {SEARCH_ESCAPES} "
                             f"(\\\\ for a backslash)")
        if code[0] == "x":
            return chr(0xF0000 + int(code[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[code]

    out = bytearray()
    for ch in _ESCAPE.sub(unescape, pattern):
        cp = ord(ch)
        out += bytes([cp - 0xF0000]) if 0xF0000 <= cp <= 0xF00FF else ch.encode("utf-8")
    return bytes(out)


def search(text: bytes, needle: bytes, pos: int, forward: bool = True) -> tuple[int, bool] | None:
    """The next (or previous) match of ``needle`` after (before) ``pos``, wrapping around the text.

    Returns:
        ``(position, wrapped)``, or None when the text has no match at all.
    """
    if not needle:
        return None
    if forward:
        hit = text.find(needle, pos + 1)
        if hit >= 0:
            return hit, False
        hit = text.find(needle, 0, pos + len(needle))
    else:
        hit = text.rfind(needle, 0, pos + len(needle) - 1)
        if hit >= 0:
            return hit, False
        hit = text.rfind(needle, pos)
    return (hit, True) if hit >= 0 else None


def next_at_least(values: np.ndarray, pos: int, threshold: float, forward: bool = True,
                  chunk: int = 1 << 16) -> int | None:
    """The nearest index after (before) ``pos`` where ``values >= threshold`` (NaN never counts)."""
    n = values.shape[0]
    if forward:
        for lo in range(pos + 1, n, chunk):
            hits = np.flatnonzero(values[lo:lo + chunk] >= threshold)
            if hits.size:
                return lo + int(hits[0])
    else:
        for hi in range(min(pos, n), 0, -chunk):
            lo = max(0, hi - chunk)
            hits = np.flatnonzero(values[lo:hi] >= threshold)
            if hits.size:
                return lo + int(hits[-1])
    return None
