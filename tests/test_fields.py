"""Lines of figures fitted to a width: compact numbers stay true, whole fields drop in priority order."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factormap.tui.fields import MINUS, Field, compact, fit, fixed, tick


@pytest.mark.parametrize("value, signed, text", [
    (0.009031, False, "0.00903"), (6.6391, False, "6.64"), (3.4466, False, "3.45"), (12345.0, False, "1.23e4"),
    (6.6391, True, "+6.64"), (-0.1, True, "−0.100"), (0.0, False, "0.00"), (None, False, "…"),
    (math.nan, True, "–"), (1e-9, False, "1.00e−9"), (100.0, False, "100"), (0.2003, True, "+0.200"),
    (-1.5e-5, False, "−1.50e−5"), (0.0, True, "0.00"), (-0.0, True, "0.00"), (-math.inf, False, "−∞"),
])
def test_compact_is_three_significant_digits(value, signed, text):
    assert compact(value, signed=signed) == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_compact_is_a_true_value(value):
    shown = float(compact(value, signed=True).replace(MINUS, "-"))
    assert shown == pytest.approx(value, rel=5e-3, abs=1e-300)


@pytest.mark.parametrize("value, decimals, signed, text", [
    (1.54372, 4, False, "1.5437"), (0.0312, 3, True, "+0.031"), (-0.25, 3, True, "−0.250"),
    (-0.0004, 3, True, "0.000"), (-0.0004, 3, False, "0.000"), (0.0004, 3, True, "0.000"), (-0.0, 2, False, "0.00"),
    (None, 3, False, "…"), (math.nan, 3, True, "–"),
])
def test_fixed_has_its_decimals_a_minus_sign_and_no_sign_on_zero(value, decimals, signed, text):
    assert fixed(value, decimals, signed=signed) == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_no_ascii_minus_and_no_signed_zero(value):
    for text in (compact(value, signed=True), fixed(value, 3, signed=True), fixed(value, 3)):
        assert "-" not in text
        assert not (text[0] in "+" + MINUS and set(text[1:]) <= set("0.")), text


def test_fields_shorten_then_drop_in_priority_order():
    fields = [Field("t=100", 0), Field("p=0.912345", 2, short="p=0.912"), Field("bits 0.133 bits", 1, short="0.133b"),
              Field("extra", 3)]
    assert fit(fields, 80).plain == "t=100  p=0.912345  bits 0.133 bits  extra"
    assert fit(fields, 38).plain == "t=100  p=0.912345  bits 0.133 bits"
    assert fit(fields, 31).plain == "t=100  p=0.912  bits 0.133 bits"
    assert fit(fields, 30).plain == "t=100  bits 0.133 bits"  # p drops out before bits shortens
    assert fit(fields, 15).plain == "t=100  0.133b"
    assert fit(fields, 3).plain == "t=100"  # priority 0 stays whole


def test_a_number_is_never_cut():
    fields = [Field(f"{v:.4g}", i + 1, short=compact(v)) for i, v in enumerate((0.00903, 3.4466, 10.1234))]
    for width in range(0, 40):
        for word in fit(fields, width).plain.split():
            assert word in ("0.00903", "3.447", "3.45", "10.12", "10.1")


def test_a_field_can_bring_its_own_separator():
    fields = [Field("t=5 predicts", 0), Field("'a'", 0, separator=" "), Field("p=0.5", 1)]
    assert fit(fields, 80).plain == "t=5 predicts 'a'  p=0.5"
    assert fit(fields, 20).plain == "t=5 predicts 'a'"


def test_tick_labels_are_shortest_with_the_minus_sign():
    assert [tick(v) for v in (-1, -0.5, 0, 0.5, 6)] == ["−1", "−0.5", "0", "0.5", "6"]


def test_every_signed_number_is_written_by_fields():
    """No format spec with a sign and no hand-made minus outside fields.py: they would print ASCII '-'."""
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent / "tui"
    signed = re.compile(r"\{[^{}]*:\+[^{}]*\}|f\"-\{|f'-\{|\{-[^{}]*:[^{}]*\}")
    offenders = [f"{path.relative_to(root)}:{n}" for path in root.rglob("*.py") if path.name != "fields.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if signed.search(line)]
    assert offenders == []
    assert signed.search('f"{x:+.3f}"') and signed.search('f"-{compact(x)}"') and signed.search('f"{-b:g}"')
