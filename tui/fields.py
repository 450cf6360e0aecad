"""How every number a person reads is written, and lines of figures fitted to a width.

**One way to write a number.** Every figure the app draws and every figure a headless command
prints for people (its rich tables, captions and summary lines) is written by :func:`compact` or
:func:`fixed`; only ``--json`` keeps plain JSON numbers (:mod:`factormap.tui.json_form`).

- 3 significant digits (:func:`compact`) is the rule: ``0.00903``, ``6.64``, ``p=0.0115``. The one
  exception is a figure compared across runs at its 4th decimal (BPC, ΔBPC in tables and summaries,
  the spectral radius of Wh, the Lyapunov exponent), the edges of a histogram's bins and the
  matrix-like tables of ``report``'s factor map (r and cosines to 2 decimals, so columns compare):
  :func:`fixed` gives those a stated number of decimals (``1.5437``, ``+0.031``).
- A negative number carries the minus sign ``−`` (U+2212, as wide as ``+``), never ASCII ``-``,
  in the exponent too (``1.50e−5``); with ``signed`` a positive one carries ``+``.
- A figure that rounds to zero carries no sign: ``0.000``, never ``-0.000`` or ``+0.000``.
- Shares and percentiles are whole or tenth percents (``97%``, ``12.5%``, ``percentile 95``).
- Not known yet is ``…``; does not exist (NaN) is ``–``; overflowed is ``±∞``.

**Lines of figures.** Every pane and the status line build their lines from :class:`Field` s.
:func:`fit` keeps the fields in order and, while the line is too wide, first swaps fields for their
compact form (least important first), then drops whole fields (least important first). The compact
form of a number is still a true value, rounded, never truncated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

SIGNIFICANT = 3
"""Significant digits of a number's compact form."""
MINUS = "\u2212"
"""The minus sign of every number a person reads."""


def compact(value: float | None, *, signed: bool = False, digits: int = SIGNIFICANT) -> str:
    """``value`` rounded to ``digits`` significant digits, in the shortest true form.

    ``0.009031`` → ``0.00903``, ``6.6391`` → ``6.64``, ``0.2`` → ``0.200``, ``12345`` → ``1.23e4``,
    ``-0.1`` → ``−0.100``; with ``signed`` a positive value shows ``+`` (``+6.64``); zero has no sign.
    """
    special = _special(value, signed)
    if special is not None:
        return special
    text = f"{float(value):{'+' if signed else ''}#.{digits}g}"  # '#': trailing zeros are significant digits too
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa.rstrip('.')}e{int(exponent)}"
    return _signs(text.rstrip("."))


def fixed(value: float | None, decimals: int, *, signed: bool = False) -> str:
    """``value`` with exactly ``decimals`` decimals (``1.5437``, ``+0.031``, ``−0.250``), signs as in
    :func:`compact`: for BPC, ΔBPC and bin edges, figures read to a stated decimal."""
    special = _special(value, signed)
    if special is not None:
        return special
    return _signs(f"{float(value):{'+' if signed else ''}.{decimals}f}")


def stored(value: float | None, *, signed: bool = False, decimals: int | None = None) -> str:
    """A figure read back from a command's JSON-ready data, where None is a quantity that does not
    exist (:mod:`factormap.tui.json_form`: NaN became null): ``–``; otherwise :func:`compact`, or
    :func:`fixed` with ``decimals``."""
    if value is None:
        return "–"
    return compact(value, signed=signed) if decimals is None else fixed(value, decimals, signed=signed)


def tick(value: float) -> str:
    """An axis tick's label in its shortest form (``1``, ``−0.5``, ``6``), signs as above."""
    return _signs(f"{float(value):g}")


def _special(value: float | None, signed: bool) -> str | None:
    """The form of a value that is not a finite number, else None."""
    if value is None:
        return "…"
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return ("+" if signed and value > 0 else MINUS if value < 0 else "") + "∞"
    return None


def _signs(text: str) -> str:
    """A formatted number with ``−`` for ``-`` and no sign at all when every digit is 0."""
    mantissa = text.partition("e")[0]
    if text[:1] in "+-" and not any(c in "123456789" for c in mantissa):
        text = text[1:]
    return text.replace("-", MINUS)


@dataclass(frozen=True)
class Field:
    """One figure (or label) of a line.

    Attributes:
        text: the full form.
        priority: importance; fields with the largest priority are shortened, then dropped, first
            (0: never dropped).
        short: a compact form used when the full one does not fit ("" drops the field instead).
        style: the field's rich style.
        separator: what joins it to the field before (None: the line's separator).
    """

    text: str
    priority: int = 0
    short: str = ""
    style: str | Style = ""
    separator: str | None = None


def fit(fields: Iterable[Field], width: int, separator: str = "  ") -> Text:
    """The fields in order, joined by ``separator``, in at most ``width`` cells where possible.

    While the line is too wide, the least important field left takes its compact form and, if the
    line is still too wide, drops out; then the next least important. Fields of priority 0 are only
    shortened, never dropped (the widget's own overflow handles a line that still does not fit).
    """
    fields = list(fields)
    forms = [f.text for f in fields]
    shown = [True] * len(fields)

    def joint(i: int) -> str:
        return separator if fields[i].separator is None else fields[i].separator

    def length() -> int:
        kept = [i for i in range(len(fields)) if shown[i]]
        return sum(Text(forms[i]).cell_len for i in kept) + sum(Text(joint(i)).cell_len for i in kept[1:])

    for i in sorted(range(len(fields)), key=lambda i: (-fields[i].priority, -i)):
        if length() <= width:
            break
        if fields[i].short:
            forms[i] = fields[i].short
        if length() > width and fields[i].priority > 0:
            shown[i] = False
    line = Text(no_wrap=True)
    first = True
    for i, field in enumerate(fields):
        if shown[i]:
            if not first:
                line.append(joint(i))
            line.append(forms[i], field.style)
            first = False
    return line
