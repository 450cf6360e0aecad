"""Pure cursor motions and text layout, checked against slow obvious references."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.tui import motions
from factormap.tui import text_layout as tl

TEXT = b"foo bar,  baz_1\n\nqux(x) \t end\n"


def ref_classes(text: bytes) -> list[int]:
    return [motions.byte_class(b) for b in text]


def ref_word_forward(text: bytes, pos: int) -> int:
    cls = ref_classes(text)
    p = pos
    while p < len(text) and cls[p] == cls[pos] and cls[pos] != 0:
        p += 1
    while p < len(text) and cls[p] == 0:
        p += 1
    return min(p, len(text) - 1)


def ref_word_backward(text: bytes, pos: int) -> int:
    cls = ref_classes(text)
    p = pos - 1
    while p > 0 and cls[p] == 0:
        p -= 1
    if p <= 0:
        return 0
    c = cls[p]
    while p > 0 and cls[p - 1] == c:
        p -= 1
    return p


def ref_word_end(text: bytes, pos: int) -> int:
    cls = ref_classes(text)
    p = pos + 1
    while p < len(text) and cls[p] == 0:
        p += 1
    if p >= len(text):
        return len(text) - 1
    c = cls[p]
    while p + 1 < len(text) and cls[p + 1] == c:
        p += 1
    return p


@pytest.mark.parametrize("fn,ref", [(motions.word_forward, ref_word_forward),
                                    (motions.word_backward, ref_word_backward),
                                    (motions.word_end, ref_word_end)])
def test_word_motions_match_the_reference_at_every_position(fn, ref):
    rng = np.random.default_rng(0)
    texts = [TEXT] + [bytes(rng.choice(list(b"ab_ ,.\n\t\xe2"), size=60)) for _ in range(5)]
    for text in texts:
        for pos in range(len(text)):
            assert fn(text, pos) == ref(text, pos), (text, pos)


def test_words_follow_vim():
    assert motions.word_forward(TEXT, 0) == 4           # foo -> bar
    assert motions.word_forward(TEXT, 4) == 7           # bar -> ,
    assert motions.word_end(TEXT, 0) == 2
    assert motions.word_backward(TEXT, 10) == 7          # baz -> ,


def test_line_start_and_end():
    assert motions.line_start(TEXT, 5) == 0
    assert motions.line_end(TEXT, 5) == 14               # the byte before '\n'
    assert motions.line_end(TEXT, 16) == 16              # empty line: its newline
    assert motions.line_start(TEXT, 20) == 17


def test_search_wraps_and_goes_backwards():
    text = b"ab ab ab"
    assert motions.search(text, b"ab", 0) == (3, False)
    assert motions.search(text, b"ab", 6) == (0, True)
    assert motions.search(text, b"ab", 3, forward=False) == (0, False)
    assert motions.search(text, b"ab", 0, forward=False) == (6, True)
    assert motions.search(text, b"zz", 0) is None


def test_parse_pattern_escapes():
    assert motions.parse_pattern(r"a\nb\t\x00\\") == b"a\nb\t\x00\\"
    assert motions.parse_pattern("é") == "é".encode()


def test_next_at_least_scans_across_chunks_and_skips_nan():
    values = np.zeros(1000)
    values[[5, 400, 999]] = 3.0
    values[200] = np.nan
    assert motions.next_at_least(values, 5, 2.0, chunk=64) == 400
    assert motions.next_at_least(values, 400, 2.0, forward=False, chunk=64) == 5
    assert motions.next_at_least(values, 999, 2.0, chunk=64) is None


def ref_rows(text: bytes, width: int) -> list[int]:
    """Row starts of the whole text, laid out byte by byte from the start."""
    starts, col = [0], 0
    for pos, b in enumerate(text):
        w = tl.WIDTHS[b]
        if col + w > width or (pos % tl.SEGMENT == 0 and pos and text[pos - 1] != 0x0A):
            starts.append(pos)
            col = 0
        col += w
        if b == 0x0A and pos + 1 < len(text):
            starts.append(pos + 1)
            col = 0
    return sorted(set(starts))


@pytest.mark.parametrize("width", [4, 7, 20])
def test_rows_match_a_whole_text_layout_from_any_position(width):
    rng = np.random.default_rng(1)
    text = bytes(rng.choice(list(b"abc \n\t\x00\xff"), size=9000))
    rows = ref_rows(text, width)
    assert tl.rows_from(text, 0, width, len(rows)) == rows
    for pos in rng.integers(0, len(text), 40):
        i = int(np.searchsorted(rows, pos, side="right")) - 1
        assert tl.row_start(text, int(pos), width) == rows[i]
        assert tl.rows_up(text, rows[i], width, 3) == rows[max(0, i - 3)]
        assert tl.next_row(text, rows[i], width) == (rows[i + 1] if i + 1 < len(rows) else len(text))


def test_glyphs_are_visible_escapes():
    assert tl.GLYPHS[0x0A] == tl.NEWLINE_GLYPH
    assert tl.GLYPHS[0x09] == "\\t"
    assert tl.GLYPHS[0xFF] == "\\xff"
    assert tl.GLYPHS[ord("a")] == "a"


def test_move_rows_keeps_the_column():
    text = b"0123456789\nabcdefghij\nABCDEFGHIJ\n"
    assert tl.move_rows(text, 3, 40, 1) == 14        # '3' -> 'd'
    assert tl.move_rows(text, 25, 40, -2) == 3       # 'D' -> '3'
    assert tl.move_rows(text, 3, 40, 10) == 25       # clamped to the last row
