"""The one byte → glyph module: each form of every byte value."""

from factormap.tui.glyphs import CELL_GLYPHS, TEXT_GLYPHS, byte_label, escaped, quoted_text


def test_every_byte_has_each_form():
    assert len(TEXT_GLYPHS) == len(CELL_GLYPHS) == 256
    assert all(len(g) == 1 for g in CELL_GLYPHS)
    assert all(g.isprintable() for g in TEXT_GLYPHS + CELL_GLYPHS)


def test_the_forms_differ_only_where_they_say():
    assert TEXT_GLYPHS[0x0A] == "↵" and CELL_GLYPHS[0x0A] == "↵"
    assert TEXT_GLYPHS[0x09] == "\\t" and CELL_GLYPHS[0x09] == "⇥"
    assert TEXT_GLYPHS[0xE8] == "\\xe8" and CELL_GLYPHS[0xE8] == "·"
    assert TEXT_GLYPHS[0x20] == " " and CELL_GLYPHS[0x20] == "␣"
    assert byte_label(0x20) == "␣" and byte_label(ord("a")) == "a" and byte_label(0x0A) == "↵"


def test_a_byte_string_is_escaped_once_with_the_one_newline_glyph():
    assert escaped(b"caf\xc3\xa9s\n") == "caf\\xc3\\xa9s↵"
    assert quoted_text(b"\t") == "'\\t'"  # not repr's '\\\\t'
    assert quoted_text(b"a\nb") == "'a↵b'"


def test_widgets_and_screens_never_import_the_commands():
    from pathlib import Path

    root = Path(__file__).parent.parent / "tui"
    offenders = [str(path.relative_to(root)) for folder in ("widgets", "screens") for path in (root / folder).glob("*.py")
                 if "factormap.tui.commands" in path.read_text()]
    assert offenders == []


def test_typed_text_is_quoted_as_typed():
    assert quoted_text("cafés".encode()) == "'cafés'"
    assert quoted_text(b"caf\xe9\t") == "'caf\\xe9\\t'"
