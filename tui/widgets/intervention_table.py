"""The interventions pane's table: each row's figures as cells, and the columns that fit the width.

Every figure is in bits (Δ = edited − baseline): **ΔBPC** over the whole text, **Δ@t** at the
cursor (``bits'_t − bits_t``), **Δwin** the mean over the visible window, then the **band**
(``[min, max]`` ΔBPC of the :data:`~factormap.tui.widgets.intervention_rows.BAND_RUNS` nudged
re-runs), **r** the residual r, and **null** ``pNN``, the percentile NN of the ΔBPC among the same
edit on random unit directions (the matched null). The last three show only when some row has them.
Numbers are compact (3 significant digits, :func:`factormap.tui.fields.compact`) and never cut:
when the pane is narrow, the edit names take their abbreviations first, then whole columns drop
out from the right (null, r, band, Δwin, Δ@t; ΔBPC always stays).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

from factormap.tui.fields import compact
from factormap.tui.widgets.intervention_rows import ROWS, RowState

COLUMNS = ("ΔBPC", "Δ@t", "Δwin", "band", "r", "null")
"""The figure columns, left to right (each headed by its name); they drop out from the right when
space is short."""
OPTIONAL = ("band", "r", "null")
"""The columns shown only when some row has a figure in them."""
PREFIX_CELLS = 7
"""Cells of a row's number and check box (`` 1 [x] ``)."""
STAGE_WORDS = {"factor map": "fmap", "band": "", "done": "", "residual": ""}
"""What the ΔBPC column says before its figure exists (``…`` for the stages not listed)."""
UNITS = "Δ in bits"
"""The unit of every figure, said in the header (or the pane's subtitle when no header fits)."""


def row_cells(row: RowState, place: tuple[int, int, int]) -> dict[str, str]:
    """The figures of an active row, one string per column of :data:`COLUMNS`.

    Args:
        row: the row's state.
        place: ``(t, t0, t1)`` the pane shows; figures of another place are not shown.
    """
    if row.result is not None:
        bpc = compact(row.result.delta_bpc, signed=True)
    elif row.stage in ("fit", "text"):
        bpc = f"{int(row.fraction * 100)}%"
    else:
        bpc = STAGE_WORDS.get(row.stage, "…")
    current = row.figures is not None and row.figures[:3] == place
    at, window = (row.figures[3], row.figures[4]) if current else (None, None)
    band = []
    if row.band is not None:
        band.append(f"[{compact(row.band.min, signed=True)}, {compact(row.band.max, signed=True)}]")
    if row.stage in ("fit", "band", "residual", "null"):
        band.append(f"{row.stage} {int(row.fraction * 100)}%")
    return {"ΔBPC": bpc, "Δ@t": compact(at, signed=True), "Δwin": compact(window, signed=True), "band": " ".join(band),
            "r": "" if row.residual is None else compact(row.residual),
            "null": "" if row.null is None else f"p{row.null.percentile:.0f}"}


def layout(rows: Sequence[RowState], neuron: int, place: tuple[int, int, int], width: int,
           defs: Sequence = ROWS):
    """Choose the edit names (of ``defs``, the pane's rows) and the columns that fit ``width`` cells.

    Returns:
        ``(labels, columns, widths, cells)``: each row's label, the columns kept, each kept
        column's width, and each row's cells (None for a row that is off or failed).
    """
    cells = [row_cells(r, place) if r.on and r.stage != "error" else None for r in rows]
    widths = {c: max([len(c)] + [len(rc[c]) for rc in cells if rc is not None]) for c in COLUMNS}
    columns = [c for c in COLUMNS if c not in OPTIONAL or any(rc is not None and rc[c] for rc in cells)]
    short_width = max([8] + [len(d.edit.abbreviation.format(neuron=neuron)) for d in defs])  # a user feature's reads whole
    for short in (False, True):  # the band matters more than a long name: names shorten first
        labels = [defs[i].label(neuron, short_width if short else 99) for i in range(len(rows))]
        name = max(len(label) for label in labels)
        if PREFIX_CELLS + name + sum(widths[c] + 1 for c in columns) <= width:
            break
    while len(columns) > 1 and PREFIX_CELLS + name + sum(widths[c] + 1 for c in columns) > width:
        columns.pop()
    full = [defs[i].label(neuron, 99) for i in range(len(rows))]
    if PREFIX_CELLS + max(map(len, full)) + sum(widths[c] + 1 for c in columns) <= width:
        labels = full  # the columns that had to go leave room for the whole names
    return labels, columns, {c: widths[c] for c in columns}, cells


def header_line(name_width: int, columns: Sequence[str], widths: dict[str, int], style: Style | str) -> Text:
    """The column names, aligned with the rows, with the unit where it fits."""
    edit = f"edit, {UNITS}" if len(f"edit, {UNITS}") <= name_width else "edit"
    return Text(" #     " + edit.ljust(name_width) + "".join(f" {c:>{widths[c]}}" for c in columns), style)


def subtitle(columns: Sequence[str]) -> str:
    """What the pane's lower border says when no header line fits: the columns and the unit."""
    return " · ".join(columns) + f" ({UNITS})"
