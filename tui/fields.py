"""Lines of figures fitted to a width: a number is never cut, whole fields drop out instead.

Every pane and the status line build their lines from :class:`Field` s. :func:`fit` keeps the
fields in order and, while the line is too wide, first swaps fields for their compact form
(least important first), then drops whole fields (least important first). The compact form of a
number (:func:`compact`, 3 significant digits) is still a true value, rounded, never truncated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

SIGNIFICANT = 3
"""Significant digits of a number's compact form."""


def compact(value: float | None, *, signed: bool = False, digits: int = SIGNIFICANT) -> str:
    """``value`` rounded to ``digits`` significant digits, in the shortest true form.

    ``0.009031`` → ``0.00903``, ``6.6391`` → ``6.64``, ``0.2`` → ``0.200``, ``12345`` → ``1.23e4``; with ``signed`` a
    sign always shows (``+6.64``). ``None`` (not known yet) is ``…``; NaN (does not exist) is ``–``.
    """
    if value is None:
        return "…"
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return ("+" if signed and value > 0 else "-" if value < 0 else "") + "∞"
    text = f"{value:{'+' if signed else ''}#.{digits}g}"  # '#': trailing zeros are significant digits too
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa.rstrip('.')}e{int(exponent)}"
    return text.rstrip(".")


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
