"""Lines of the neuron mode and the interventions pane's recurrence line: narrow panes drop whole
fields, never part of a number."""

import re

import numpy as np

from factormap.engine.attribution.prediction import attribution
from factormap.engine.attribution.unit_flow import unit_flow
from factormap.engine.session import Session
from factormap.tui.fields import Field, fit
from factormap.tui.widgets.attribution_flow import flow_summary


def test_the_neuron_flow_line_drops_whole_fields_as_the_pane_narrows(random_model, sample_text):
    session = Session(random_model(8), sample_text)
    att = attribution(session, 40, K=16)
    k = int(np.argmax(np.abs(unit_flow(att, 3).grads)))
    widths = range(12, 120)
    lines = [fit([*flow_summary(att, 3), Field("│ |g_k| of the top units:", 1, separator=" ")], w).plain
             for w in widths]
    assert any(f"at k={k}" in line for line in lines) and any("at k=" not in line for line in lines)
    for w, line in zip(widths, lines):
        assert ("at k=" not in line) or f"at k={k}" in line, (w, line)
        assert re.search(r"Σ_k g·h [+−]\d[\d.e+−]*(?=,| |$)", line), (w, line)
        assert not re.search(r"\d…", line)


async def test_the_last_bytes_note_wraps_at_80x24_instead_of_being_cut():
    from tests.app_helpers import make_app
    from tests.pilot_support import settle

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        pane = app.screen.query_one("#attribution")
        lines = pane.render().plain.split("\n")
        assert "next byte to attribute." in " ".join(lines)
        assert all(len(line) <= pane.size.width for line in lines)
