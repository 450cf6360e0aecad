"""The interventions table keeps whole columns: names shorten first, then band, Δwin and Δ@t drop out."""

import re

import numpy as np

from factormap.engine.interventions.analysis import Band
from factormap.tui.widgets import intervention_table as table
from factormap.tui.widgets.intervention_rows import ROWS, RowState


class _Result:
    delta_bpc = 6.63912


def _rows():
    rows = [RowState() for _ in ROWS]
    rows[0] = RowState(on=True, stage="done", result=_Result(), figures=(5, 0, 100, 10.1234, 7.41234),
                       band=Band(value=6.63912, eps=1e-6, min=6.6391, max=7.1012, nudged=np.array([6.7, 7.1])), residual=0.3312)
    rows[1] = RowState(on=True, stage="text", fraction=0.42)
    return rows


SHOWN = ("ΔBPC", "Δ@t", "Δwin", "band", "r")
"""The columns of :func:`_rows`: no row has a null percentile, so that column is not shown."""


def test_columns_drop_out_whole_as_the_pane_narrows():
    seen = []
    for width in range(20, 90):
        labels, columns, widths, cells = table.layout(_rows(), 0, (5, 0, 100), width)
        assert columns[0] == "ΔBPC" and columns == list(SHOWN[:len(columns)])
        seen.append(tuple(columns))
        assert cells[0] == {"ΔBPC": "+6.64", "Δ@t": "+10.1", "Δwin": "+7.41", "band": "[+6.64, +7.10]", "r": "0.331",
                            "null": ""}
        assert cells[1]["ΔBPC"] == "42%" and cells[1]["Δ@t"] == "…"
        if len(columns) > 1:
            assert table.PREFIX_CELLS + max(map(len, labels)) + sum(widths[c] + 1 for c in columns) <= width
    assert seen[0] == ("ΔBPC",) and seen[-1] == SHOWN
    assert len(set(seen)) == 5


def test_the_header_names_the_columns_and_the_unit():
    labels, columns, widths, _ = table.layout(_rows(), 0, (5, 0, 100), 80)
    header = table.header_line(max(map(len, labels)), columns, widths, "").plain
    assert re.search(r"edit, Δ in bits +ΔBPC +Δ@t +Δwin +band +r$", header)  # a header over each column
    assert table.subtitle(["ΔBPC", "Δ@t"]) == "ΔBPC · Δ@t (Δ in bits)"


def test_each_figure_sits_under_its_own_header():
    rows = _rows()
    rows[0].null = type("Null", (), {"percentile": 100.0})()  # only its percentile is drawn
    labels, columns, widths, cells = table.layout(rows, 0, (5, 0, 100), 120)
    assert columns == list(table.COLUMNS)
    header = table.header_line(max(map(len, labels)), columns, widths, "").plain
    for c in ("band", "r", "null"):  # each right-aligned over its figure
        end = header.index(c) + len(c)
        cell_end = 7 + max(map(len, labels)) + sum(widths[k] + 1 for k in columns[:columns.index(c) + 1])
        assert end == cell_end, (c, header)
    assert cells[0]["null"] == "p100" and cells[0]["r"] == "0.331"
