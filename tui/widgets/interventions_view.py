"""How the interventions pane draws itself: its rows, column header and the lines below them.

The pane (:mod:`interventions_pane`) holds the rows' state and runs their workers; this module
turns that state into text, and never starts a worker. Columns: :mod:`intervention_table`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from factormap.tui.fields import Field, compact, fit
from factormap.tui.widgets import intervention_table as table
from factormap.tui.widgets.bars import progress_bar
from factormap.tui.widgets.intervention_rows import row_description

if TYPE_CHECKING:
    from factormap.tui.widgets.interventions_pane import InterventionsPane

_CONSOLE = Console(width=10**4)
"""What rich's wrap measures cells with (only its width rules are read)."""


def pane_text(pane: InterventionsPane) -> Text:
    """One line per row; then, as height allows, a header, factor-map progress, the combined
    ΔBPC and the highlighted row's full description.

    Args:
        pane: the pane to draw (its rows, cursor, window and size).
    """
    muted = pane.get_component_rich_style("interventions-pane--muted")
    width = pane.size.width
    labels, columns, widths, cells = table.layout(pane.rows, pane.selected_neuron, (pane.cursor, *pane.window),
                                                  width, pane.row_defs)
    name_width = max(len(label) for label in labels)
    rows = [_row_line(pane, i, labels[i].ljust(name_width), columns, widths, cells[i]) for i in range(len(pane.rows))]
    description = row_description(pane.highlighted, pane.rows[pane.highlighted], pane.selected_neuron,
                                  pane.factor_map is not None, pane.row_defs)
    extras = [Text(line, muted) for line in phrase_lines(description, max(1, width))]
    for feature, value in through_recurrence(pane).items():
        extras.insert(0, fit([Field("   through the recurrence", 0, short="   recurrence"),
                              Field(f"({feature}):", 0, separator=" "),
                              Field("every step − readout =", 1, short="", separator=" "),
                              Field(f"{compact(value, signed=True)} bits", 0, separator=" ")], width))
        extras[0].stylize(muted)
    if pane.combined is not None:
        extras.insert(0, Text(f"   all {pane.active_count} together: ΔBPC "
                              f"{compact(pane.combined.delta_bpc, signed=True)} bits", "bold"))
    if pane.factor_map_fraction is not None:
        extras.insert(0, Text(f"   factor map {progress_bar(pane.factor_map_fraction)}", muted))
    room = max(0, pane.size.height - len(rows))
    subtitle = "" if room else table.subtitle(columns)
    if subtitle != pane.subtitle_shown:  # setting border_subtitle repaints the pane, even to the same text
        pane.subtitle_shown = pane.border_subtitle = subtitle
    header = table.header_line(name_width, columns, widths, muted)
    lines = ([header] if room else []) + rows + extras[:max(0, room - 1)]
    return Text("\n").join(lines)


def phrase_lines(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken between its phrases (before `` │ `` and a
    closing parenthetical), so that the lines the pane has room for end with whole phrases; a phrase
    wider than a line is broken at its spaces, so a figure is never cut by the pane's edge."""
    lines: list[str] = []
    for phrase in re.split(r" (?=│ |\([^()]*\)$)", text):
        joined = f"{lines[-1]} {phrase}" if lines else phrase
        if lines and Text(joined).cell_len <= width:
            lines[-1] = joined
        else:
            lines.extend(line.plain.rstrip() for line in Text(f" {phrase}" if lines else phrase).wrap(_CONSOLE, width))
    return lines


def _row_line(pane: InterventionsPane, i: int, label: str, columns: list[str], widths: dict[str, int],
              cells: dict[str, str] | None) -> Text:
    row = pane.rows[i]
    style = pane.get_component_rich_style("interventions-pane--on") if row.on else ""
    line = Text(f" {i + 1} " + ("[x] " if row.on else "[ ] "), style)
    line.append(label, style)
    if row.on and row.stage == "error":
        line.append(f" error: {row.error}", pane.get_component_rich_style("interventions-pane--error"))
    elif cells is not None:
        for column in columns:
            line.append(f" {cells[column]:>{widths[column]}}")
    if i == pane.highlighted and pane.has_focus:
        line.stylize(pane.get_component_rich_style("interventions-pane--highlight"))
    return line


def through_recurrence(pane: InterventionsPane) -> dict[str, float]:
    """feature -> ΔBPC of subtracting its direction at every step minus at the readout only, for
    the features whose two rows both have their whole-text result."""
    results = {pane.row_defs[i].edit.key: r.result.delta_bpc for i, r in enumerate(pane.rows)
               if r.on and r.result is not None}
    return {key.partition(".")[2]: value - results[f"subtract_at_readout.{key.partition('.')[2]}"]
            for key, value in results.items()
            if key.startswith("subtract_each_step.") and f"subtract_at_readout.{key.partition('.')[2]}" in results}
