"""Pilot tests of the inspector (``I``): its list against the engine, the threshold, and enter
jumping the explorer's cursor."""

from __future__ import annotations

import numpy as np

from factormap.engine.session import Session
from factormap.engine.workbench.inspect import inspect_probe
from factormap.engine.workbench.probe import Probe
from factormap.tui.screens.inspector import BINS, TOP, InspectorScreen
from tests.app_helpers import make_app, settle
from tests.panes_support import wait_for_workers


async def _inspector_ready(pilot) -> InspectorScreen:
    screen = pilot.app.screen
    assert isinstance(screen, InspectorScreen)
    for _ in range(300):
        await wait_for_workers(pilot, rounds=1)
        if screen.cost is not None:
            break
    assert screen.inspection is not None and screen.rank is not None and screen.cost is not None
    return screen


async def test_I_inspects_the_selected_neuron_and_enter_jumps_there():
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "I")
        screen = await _inspector_ready(pilot)
        expected = inspect_probe(Session(app.session.model, app.session.text), Probe.of_neuron(2, app.session.H),
                                 top=TOP, bins=BINS)
        np.testing.assert_array_equal(screen.inspection.top_positions, expected.top_positions)
        np.testing.assert_array_equal(screen.inspection.bottom_positions, expected.bottom_positions)
        option_list = screen.query_one("#inspector-positions")
        assert option_list.option_count == 2 * TOP
        assert "h[2]" in str(screen.query_one("#inspector-title").render())
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, InspectorScreen)
        assert app.screen.cursor == int(expected.top_positions[2])
        await pilot.press("apostrophe", "apostrophe")  # the jump remembered where it came from
        await settle(pilot)
        assert app.screen.cursor == 0


async def test_threshold_moves_by_bin_edges_and_escape_leaves_the_cursor():
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        screen = await _inspector_ready(pilot)
        ins = screen.inspection
        start = screen.threshold_edge
        await pilot.press("plus", "plus", "minus")
        assert screen.threshold_edge == start + 1
        shown = str(screen.query_one("#inspector-histogram").render())
        assert f"{100 * ins.fraction_at_or_above_edge(start + 1):.1f}% of positions at or above" in shown
        figures = str(screen.query_one("#inspector-figures").render())
        assert "null percentile" in figures
        assert f"over a sample of {screen.rank.samples:,} of the {app.session.n - 1:,} predictions" in figures
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, InspectorScreen) and app.screen.cursor == 0


async def test_d_moves_on_to_a_feature_direction():
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await _inspector_ready(pilot)
        await pilot.press("d")
        screen = await _inspector_ready(pilot)
        assert screen.inspection.probe.name == "u_word_len" and screen.inspection.probe.neuron is None


async def test_the_histogram_labels_its_rows_by_lower_edge_and_fits_80x24_and_d_resets_the_bar():
    """Each row says it counts the positions at or above its bin's lower edge, in the decimals that
    tell edges apart; every bar stays on its own row at 80x24; and d starts the bar at 0%."""
    from textual.widgets import ProgressBar

    from factormap.tui.fields import fixed
    from factormap.tui.screens.inspector import edge_decimals

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        screen = await _inspector_ready(pilot)
        edges = screen.inspection.histogram_edges
        lines = str(screen.query_one("#inspector-histogram").render()).splitlines()
        assert lines[0] == "bins, from lower edge"
        rows = lines[1:1 + BINS]
        assert [row[1:].split()[1] for row in rows] == [fixed(e, edge_decimals(edges), signed=True)
                                                        for e in edges[BINS - 1::-1]]
        assert all(row[1:].split()[0] == "≥" for row in rows)
        width = screen.query_one("#inspector-histogram").content_size.width
        assert max(len(row) for row in rows) <= width  # no bar wraps onto the next row
        assert screen.query_one(ProgressBar).percentage == 1.0
        screen._inspect = lambda index: None  # hold the new probe's work back: the bar as d leaves it
        await pilot.press("d")
        assert screen.query_one(ProgressBar).percentage == 0.0


def test_edge_decimals_tell_neighbouring_edges_apart():
    from factormap.tui.screens.inspector import edge_decimals

    assert edge_decimals(np.linspace(-1, 1, 21)) == 2
    assert edge_decimals(np.linspace(-5.487, 2.277, 21)) == 2
    assert edge_decimals(np.linspace(0, 0.2, 21)) == 3
