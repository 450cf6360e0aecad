"""Pilot test: a direction edit's row in the interventions pane compares its ΔBPC with its matched null."""

from __future__ import annotations

import pytest

from factormap.engine.session import Session
from factormap.engine.workbench.nulls import NULL_N, SUBTRACT_AT_READOUT, matched_null
from factormap.tui.fields import compact
from factormap.tui.widgets.intervention_rows import ROWS, row_description
from factormap.tui.widgets.intervention_table import row_cells
from factormap.tui.widgets.interventions_pane import InterventionsPane
from factormap.tui.widgets.interventions_view import through_recurrence
from tests.panes_support import PANE_TEXT, PaneApp, wait_for_workers

READOUT_ROW = 1


@pytest.fixture
def session(random_model):
    s = Session(random_model(16, seed=7, scale=1.5), PANE_TEXT)
    yield s
    s.close()


async def test_readout_row_shows_its_null_percentile_and_z(session):
    assert ROWS[READOUT_ROW].edit.key == "subtract_at_readout.word_len"
    pane = InterventionsPane(session)
    async with PaneApp(pane).run_test(size=(120, 20)) as pilot:
        pane.toggle(READOUT_ROW)
        for _ in range(200):
            await wait_for_workers(pilot, rounds=1)
            if pane.rows[READOUT_ROW].null is not None:
                break
        row = pane.rows[READOUT_ROW]
        assert row.null is not None and row.stage == "done"
        direct = matched_null(Session(session.model, session.text), SUBTRACT_AT_READOUT, NULL_N, cache=None)
        expected = direct.compare(row.result.delta_bpc)
        assert (row.null.percentile, row.null.null_n) == (expected.percentile, NULL_N)
        assert row.null.z == pytest.approx(expected.z)
        assert f"p{expected.percentile:.0f}" in row_cells(row, (0, 0, 1))["null"]
        line = row_description(READOUT_ROW, row, 0, True)
        assert f"null: percentile {expected.percentile:.0f}, z {compact(expected.z, signed=True)}" in line


async def test_both_subtraction_rows_on_show_the_part_through_the_recurrence(session):
    pane = InterventionsPane(session)
    async with PaneApp(pane).run_test(size=(120, 24)) as pilot:
        pane.toggle(0)
        pane.toggle(READOUT_ROW)
        for _ in range(300):
            await wait_for_workers(pilot, rounds=1)
            if all(r.result is not None for r in pane.rows[:2]):
                break
        each, readout = (r.result.delta_bpc for r in pane.rows[:2])
        assert through_recurrence(pane) == {"word_len": pytest.approx(each - readout)}
        await pilot.pause()
        assert "through the recurrence (word_len)" in pane.render().plain
