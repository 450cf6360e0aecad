"""How a byte looks wherever the app or a command shows one: the one byte → glyph module.

Three forms, for three kinds of place:

- **text glyphs** (:data:`TEXT_GLYPHS`, the text pane): printable ASCII as itself, a newline as
  ``↵`` (followed by a real line break), a tab as ``\\t``, a carriage return as ``\\r``, anything
  else as ``\\xNN`` (bytes of 0x80 and above included).
- **one-line escapes** (:func:`escaped`, headless output and messages): the same, except that a
  newline is ``\\n``, so any bytes fit on one line.
- **labels** (:func:`byte_label`, one byte named on its own: a prediction, an axis label, the
  status line): the one-line escape, with ``␣`` for a space so that a predicted space is visible.
- **cell glyphs** (:data:`CELL_GLYPHS`, one character column per byte, under bars): ASCII as is,
  ``␣`` space, ``↵`` newline, ``⇥`` tab, ``·`` every other byte.
"""

from __future__ import annotations

NEWLINE_GLYPH = "↵"
"""What a newline byte looks like in the text pane, before its line break."""
SPACE_GLYPH = "␣"
"""What a space looks like where it is named on its own."""


def _escape(b: int) -> str:
    if b == 0x0A:
        return "\\n"
    if b == 0x09:
        return "\\t"
    if b == 0x0D:
        return "\\r"
    if 0x20 <= b < 0x7F:
        return chr(b)
    return f"\\x{b:02x}"


LINE_ESCAPES: tuple[str, ...] = tuple(_escape(b) for b in range(256))
"""The one-line escape of each byte value."""

TEXT_GLYPHS: tuple[str, ...] = tuple(NEWLINE_GLYPH if b == 0x0A else LINE_ESCAPES[b] for b in range(256))
"""The text pane's glyph of each byte value."""

CELL_GLYPHS: tuple[str, ...] = tuple(
    SPACE_GLYPH if b == 0x20 else NEWLINE_GLYPH if b == 0x0A else "⇥" if b == 0x09
    else chr(b) if 0x20 < b < 0x7F else "·" for b in range(256))
"""Each byte value as exactly one character cell."""


def is_escape(b: int) -> bool:
    """True if byte ``b`` is drawn as an escape (a glyph that is not the byte itself)."""
    return not 0x20 <= b < 0x7F


def escaped(data: bytes) -> str:
    """Bytes as one line of text: printable ASCII as is, everything else as a visible escape."""
    return "".join(LINE_ESCAPES[b] for b in data)


def quoted(data: bytes) -> str:
    """Bytes between single quotes, escaped once (``'caf\\xc3\\xa9s'``): how messages name a byte string."""
    return f"'{escaped(data)}'"


def quoted_text(data: bytes) -> str:
    """Bytes as a person typed them, between single quotes: valid UTF-8 as its characters (``'café'``),
    control characters and bytes that are not UTF-8 as one-line escapes (``'caf\\xe9'``)."""
    out = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:  # a byte that is not UTF-8
            out.append(LINE_ESCAPES[cp - 0xDC00])
        elif cp < 0x80:
            out.append(LINE_ESCAPES[cp])
        else:
            out.append(ch if ch.isprintable() else f"\\u{cp:04x}")
    return "'" + "".join(out) + "'"


def byte_label(byte: int) -> str:
    """One byte named on its own: ``␣`` for a space, otherwise its one-line escape."""
    return SPACE_GLYPH if byte == 0x20 else LINE_ESCAPES[byte]
