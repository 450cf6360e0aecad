"""The attribution pane's neuron-targeted mode: which units carry the prediction back through time.

For the selected unit j the bars show ``g_k[j]`` against the offset k; under them a compact heat
map of the units with the most gradient energy (``sum_k g_k[j]^2``, most first) against the
offsets, each cell ``|g_k[j]|`` as a share of the map's largest, drawn as a shade. The selected
unit's row is marked; ``j``/``k`` move the selection down and up the map
(:func:`next_unit_in_map`).
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from factormap.engine.attribution.prediction import Attribution
from factormap.engine.attribution.unit_flow import flow_map, unit_flow
from factormap.tui.fields import Field, compact

SHADES = " ░▒▓█"
"""Heat-map cells from none to the map's largest |g_k[j]|."""
MAP_UNITS = 8
"""Units in the heat map at most (fewer when the pane is short)."""


def next_unit_in_map(att: Attribution, unit: int, delta: int, n: int = MAP_UNITS) -> int:
    """The unit ``delta`` rows below ``unit`` in the heat map, wrapping (the map's first unit when
    ``unit`` is not in it)."""
    units = flow_map(att, n)[0].tolist()
    if unit not in units:
        return units[0 if delta > 0 else -1]
    return units[(units.index(unit) + delta) % len(units)]


def flow_summary(att: Attribution, unit: int) -> list[Field]:
    """``Σ_k g_k[j]·h_{t−k}[j]`` and where ``|g_k[j]|`` peaks, as fields for :func:`...fields.fit`
    (where it peaks drops out first, whole, when the pane is narrow)."""
    flow = unit_flow(att, unit)
    k = int(np.argmax(np.abs(flow.grads)))
    return [Field(f"h[{unit}]:", 0),
            Field(f"Σ_k g·h {compact(float(flow.contributions.sum()), signed=True)}", 0, separator=" "),
            Field(f"max |g_k[j]| {compact(abs(float(flow.grads[k])))} at k={k}", 2, separator=", ")]


def heat_map_lines(att: Attribution, unit: int, columns: int, rows: int, axis_width: int,
                   muted, marked) -> list[Text]:
    """``rows`` lines of the heat map (oldest offset at the left, as the bars), the selected unit marked.

    Args:
        att: the attribution drawn.
        unit: the selected unit j.
        columns: offsets shown (k = 0 at the right).
        rows: units shown at most.
        axis_width: cells left of the map for the unit's name.
        muted: style of the names.
        marked: style of the selected unit's row.
    """
    units, magnitudes = flow_map(att, min(rows, MAP_UNITS))
    top = float(np.max(magnitudes[:, :columns])) if magnitudes.size else 0.0
    lines = []
    for j, row in zip(units.tolist(), magnitudes[:, :columns]):
        shares = row[::-1] / top if top > 0 else np.zeros(row.size)
        cells = "".join(SHADES[min(len(SHADES) - 1, int(round(s * (len(SHADES) - 1))))] for s in shares)
        selected = j == unit
        line = Text(f"{'▶' if selected else ' '}h{j}".rjust(axis_width - 1) + " ", marked if selected else muted)
        line.append(cells, marked if selected else "")
        lines.append(line)
    return lines
