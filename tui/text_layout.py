"""How bytes become rows on screen: visible escapes, wrapping, and moving by rows.

Every byte has a glyph (:data:`factormap.tui.glyphs.TEXT_GLYPHS`: a newline is ``↵`` followed by
a real line break). A glyph is never split across rows. Only the rows near a position are ever
laid out, so a 100 MB text costs no more than a short one: wrapping restarts at every line start
and, inside a very long line, at every multiple of :data:`SEGMENT` bytes (such a line shows a
forced break there).
"""

from __future__ import annotations

# re-exported: the text pane lays out and draws with the same glyphs
from factormap.tui.glyphs import NEWLINE_GLYPH, TEXT_GLYPHS, is_escape  # noqa: F401

SEGMENT = 4096
"""Wrapping restarts at least this often, so laying out any row reads at most this many bytes."""

GLYPHS = TEXT_GLYPHS
"""The glyph of each byte value (:data:`factormap.tui.glyphs.TEXT_GLYPHS`)."""

WIDTHS: tuple[int, ...] = tuple(len(g) for g in GLYPHS)
"""The width in cells of each byte's glyph."""


def segment_start(text: bytes, pos: int) -> int:
    """Where wrapping restarts for the row holding ``pos``: its line start or a SEGMENT boundary."""
    base = pos - pos % SEGMENT
    nl = text.rfind(b"\n", base, pos)
    return nl + 1 if nl >= 0 else base


def row_starts(text: bytes, start: int, width: int, stop: int, max_rows: int | None = None) -> list[int]:
    """Start offsets of the rows laid out from ``start`` (a segment start) up to ``stop``.

    Args:
        text: the whole text.
        start: a position where wrapping restarts (see :func:`segment_start`).
        width: cells per row (at least 4, the widest glyph).
        stop: lay out rows that start before this offset.
        max_rows: stop after this many rows.

    Returns:
        Offsets of the first byte of each row, beginning with ``start``.
    """
    width = max(4, width)
    n = len(text)
    starts = [start]
    col = 0
    pos = start
    limit = min(stop, n)
    while pos < limit:
        b = text[pos]
        w = WIDTHS[b]
        if col + w > width:
            starts.append(pos)
            col = 0
            if max_rows is not None and len(starts) >= max_rows:
                return starts
            continue
        col += w
        pos += 1
        if (b == 0x0A or pos % SEGMENT == 0) and pos < n:
            if pos >= limit:
                break
            starts.append(pos)
            col = 0
            if max_rows is not None and len(starts) >= max_rows:
                return starts
    return starts


def row_start(text: bytes, pos: int, width: int) -> int:
    """Start offset of the row that holds ``pos``."""
    seg = segment_start(text, pos)
    return row_starts(text, seg, width, pos + 1)[-1]


def next_row(text: bytes, start: int, width: int) -> int:
    """Start of the row after the one beginning at ``start`` (``len(text)`` if there is none)."""
    rows = row_starts(text, start, width, len(text), max_rows=2)
    return rows[1] if len(rows) > 1 else len(text)


def rows_from(text: bytes, start: int, width: int, count: int) -> list[int]:
    """Start offsets of up to ``count`` consecutive rows from the row start ``start``."""
    rows = [start]
    while len(rows) < count:
        nxt = next_row(text, rows[-1], width)
        if nxt >= len(text):
            break
        rows.append(nxt)
    return rows


def rows_up(text: bytes, start: int, width: int, count: int) -> int:
    """The row start ``count`` rows above the row beginning at ``start`` (clamped at 0)."""
    while count > 0 and start > 0:
        seg = segment_start(text, start - 1)
        above = row_starts(text, seg, width, start)
        if count <= len(above):
            return above[-count]
        count -= len(above)
        start = seg
    return start


def column_of(text: bytes, start: int, pos: int) -> int:
    """Cells from the row start ``start`` to the glyph of ``pos``."""
    return sum(WIDTHS[b] for b in text[start:pos])


def at_column(text: bytes, start: int, width: int, col: int) -> int:
    """The byte of the row beginning at ``start`` whose glyph covers cell ``col`` (or the row's last)."""
    end = next_row(text, start, width)
    pos, used = start, 0
    while pos < end - 1 and used + WIDTHS[text[pos]] <= col:
        used += WIDTHS[text[pos]]
        pos += 1
    return min(pos, len(text) - 1)


def move_rows(text: bytes, pos: int, width: int, rows: int) -> int:
    """The position ``rows`` rows below (negative: above) ``pos``, in the same column when possible."""
    start = row_start(text, pos, width)
    col = column_of(text, start, pos)
    if rows < 0:
        target = rows_up(text, start, width, -rows)
    else:
        target = start
        for _ in range(rows):
            nxt = next_row(text, target, width)
            if nxt >= len(text):
                break
            target = nxt
    return at_column(text, target, width, col)
