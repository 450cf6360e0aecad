"""How a byte looks wherever the app or a command shows one: the one byte → glyph module.

One mapping (:data:`TEXT_GLYPHS`), so a byte looks the same in every pane, the status line, every
notice and a headless command's tables: printable ASCII as itself, a newline as ``↵`` (in the text
pane followed by a real line break), a tab as ``\\t``, a carriage return as ``\\r``, anything else
as ``\\xNN`` (bytes of 0x80 and above included). Every glyph is one line, so any bytes fit on one.
Two variants, for two kinds of place:

- **labels** (:func:`byte_label`, one byte named on its own: a prediction, an axis label, the
  status line): the glyph, with ``␣`` for a space so that a predicted space is visible.
- **cell glyphs** (:data:`CELL_GLYPHS`, exactly one character column per byte, under bars): ASCII
  as is, ``␣`` space, ``↵`` newline, ``⇥`` tab, ``·`` every other byte.

``--json`` gives bytes faithfully instead (:mod:`factormap.tui.json_form`), never a glyph.
"""

from __future__ import annotations

NEWLINE_GLYPH = "↵"
"""What a newline byte looks like."""
SPACE_GLYPH = "␣"
"""What a space looks like where it is named on its own."""


def _glyph(b: int) -> str:
    if b == 0x0A:
        return NEWLINE_GLYPH
    if b == 0x09:
        return "\\t"
    if b == 0x0D:
        return "\\r"
    if 0x20 <= b < 0x7F:
        return chr(b)
    return f"\\x{b:02x}"


TEXT_GLYPHS: tuple[str, ...] = tuple(_glyph(b) for b in range(256))
"""The glyph of each byte value."""

CELL_GLYPHS: tuple[str, ...] = tuple(
    SPACE_GLYPH if b == 0x20 else NEWLINE_GLYPH if b == 0x0A else "⇥" if b == 0x09
    else chr(b) if 0x20 < b < 0x7F else "·" for b in range(256))
"""Each byte value as exactly one character cell."""


def is_escape(b: int) -> bool:
    """True if byte ``b`` is drawn as an escape (a glyph that is not the byte itself)."""
    return not 0x20 <= b < 0x7F


def escaped(data: bytes) -> str:
    """Bytes as one line of text, each byte as its glyph (``caf\\xc3\\xa9s↵``)."""
    return "".join(TEXT_GLYPHS[b] for b in data)


def quoted_text(data: bytes) -> str:
    """Bytes as a person typed them, between single quotes: valid UTF-8 as its characters (``'café'``),
    control characters and bytes that are not UTF-8 as their glyphs (``'caf\\xe9'``)."""
    out = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:  # a byte that is not UTF-8
            out.append(TEXT_GLYPHS[cp - 0xDC00])
        elif cp < 0x80:
            out.append(TEXT_GLYPHS[cp])
        else:
            out.append(ch if ch.isprintable() else f"\\u{cp:04x}")
    return "'" + "".join(out) + "'"


def byte_label(byte: int) -> str:
    """One byte named on its own: ``␣`` for a space, otherwise its glyph."""
    return SPACE_GLYPH if byte == 0x20 else TEXT_GLYPHS[byte]
