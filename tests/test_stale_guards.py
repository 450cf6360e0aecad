"""The panes' stale-result guards: a result computed for an old request is never shown.

Each test hands the pane's handler a result that belongs to an older request, synchronously (so no
newer result can arrive in between), and checks it is dropped; without the guard each one fails.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from textual.worker import Worker, WorkerState

from factormap.engine.attribution.prediction import attribution
from factormap.engine.session import Session
from factormap.tui.widgets.attribution_pane import AttributionPane
from factormap.tui.widgets.interventions_pane import InterventionsPane
from tests.panes_support import PANE_TEXT, PaneApp, wait_for_workers

RANDOM_ROW = 3  # a row that needs no factor map, so toggling it starts its worker at once


@pytest.fixture
def session(random_model):
    s = Session(random_model(16, seed=5), PANE_TEXT)
    yield s
    s.close()


def _finished(group: str, result) -> Worker.StateChanged:
    """The message Textual posts when a worker of ``group`` returns ``result``."""
    worker = SimpleNamespace(group=group, result=result, error=None, name=group)
    return Worker.StateChanged(worker, WorkerState.SUCCESS)  # type: ignore[arg-type]


async def test_the_attribution_pane_drops_a_result_for_an_old_cursor(session):
    pane = AttributionPane(session, K=16)
    async with PaneApp(pane).run_test(size=(80, 24)) as pilot:
        pane.set_cursor(40)
        await wait_for_workers(pilot)
        current = pane.attribution
        assert current is not None and current.t == 40
        pane.on_worker_state_changed(_finished("attribution", attribution(session, 12, 16)))
        assert pane.attribution is current  # the result for t=12 came too late to be shown
        pane.on_worker_state_changed(_finished("attribution", fresh := attribution(session, 40, 16)))
        assert pane.attribution is fresh  # the guard lets the cursor's own result through


async def test_the_interventions_pane_drops_reports_of_a_run_toggled_away(session):
    pane = InterventionsPane(session)
    async with PaneApp(pane).run_test(size=(100, 30)) as pilot:
        pane.toggle(RANDOM_ROW)
        stale = pane.rows[RANDOM_ROW].token
        pane.toggle(RANDOM_ROW)
        pane.toggle(RANDOM_ROW)  # on again: a new run with a new token
        row = pane.rows[RANDOM_ROW]
        assert row.on and row.token > stale
        pane.on_interventions_pane_row_update(InterventionsPane.RowUpdate(RANDOM_ROW, stale, {"stage": "stale run"}))
        assert pane.rows[RANDOM_ROW].stage != "stale run"
        pane.on_interventions_pane_row_update(InterventionsPane.RowUpdate(RANDOM_ROW, row.token, {"stage": "current"}))
        assert pane.rows[RANDOM_ROW].stage == "current"  # the current run's reports are applied
        await wait_for_workers(pilot)
