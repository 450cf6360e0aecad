"""Pilot tests of ``:feature`` in the app: a good regex adds a factor-map entry, a trace and an
inspector probe; a bad one is one line; ``:features`` lists them and ``:unfeature`` removes one."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.user_features import regex_feature
from factormap.engine.session import Session
from factormap.tui.screens.inspector import InspectorScreen
from tests.app_helpers import make_app, settle
from tests.panes_support import wait_for_workers


async def _type(pilot, line: str) -> None:
    await pilot.press("colon", *line, "enter")
    await settle(pilot)


async def _readout_of(pilot, screen, name):
    for _ in range(200):
        await wait_for_workers(pilot, rounds=1)
        feature = screen.user_features.get(name)
        if feature is not None and feature.readout is not None:
            return feature.readout
    raise AssertionError(f"no readout for {name}")


def _notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_feature_with_a_good_regex_adds_its_entry_trace_and_probe():
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await _type(pilot, "feature cap=[A-Z][a-z]+")
        readout = await _readout_of(pilot, screen, "cap")
        values = regex_feature(app.session.text, rb"[A-Z][a-z]+")
        np.testing.assert_array_equal(screen.user_features.get("cap").values, values)
        direct = compute_factor_map(Session(app.session.model, app.session.text), {"cap": values}).readouts["cap"]
        assert (readout.best_neuron, readout.cov_r) == (direct.best_neuron, pytest.approx(direct.cov_r))
        np.testing.assert_allclose(screen.query_one("#oscilloscope")._readouts["h·u_cap"], direct.cov_direction)
        assert any(f"u_cap r {readout.cov_r:+.3g}"[:10] in note for note in _notes(app))
        await _type(pilot, "features")
        assert any("cap: best unit" in note and "[cap=[A-Z][a-z]+]" in note for note in _notes(app))
        await pilot.press("I")
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen) and "u_cap" in inspector.probe_names
        for _ in range(200):
            await wait_for_workers(pilot, rounds=1)
            if inspector.inspection is not None:
                break
        assert "cap" in inspector.inspection.correlations
        await pilot.press("escape")
        await settle(pilot)
        await _type(pilot, "unfeature cap")
        assert screen.user_features.get("cap") is None
        assert "h·u_cap" not in screen.query_one("#oscilloscope")._readouts


async def test_feature_with_a_bad_regex_is_one_line_and_adds_nothing():
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await _type(pilot, "feature bad=([")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and "\n" not in errors[0].message and "bad" in errors[0].message
        assert len(app.screen.user_features) == 0
        await _type(pilot, "feature word_len=a")
        assert "already exists" in _notes(app)[-1]
        await _type(pilot, "unfeature nope")
        assert "no user feature named 'nope'" in _notes(app)[-1]


def test_a_feature_file_is_read_one_number_per_byte(tmp_path, random_model, sample_text):
    from factormap.engine.factor_map.features import FeatureError
    from factormap.tui.user_features import UserFeatures

    features = UserFeatures(Session(random_model(8), sample_text))
    path = tmp_path / "f.txt"
    path.write_text("\n".join(str(i % 7) for i in range(len(sample_text))))
    feature = features.parse(f"pos7=@{path}")
    np.testing.assert_array_equal(feature.values, np.arange(len(sample_text)) % 7)
    features.add(feature)
    with pytest.raises(FeatureError, match="already exists"):
        features.parse("pos7=x")
    path.write_text("1 2 3")
    with pytest.raises(FeatureError, match="holds 3 numbers"):
        features.parse(f"short=@{path}")


async def test_a_user_feature_adds_two_interventions_rows_that_run_and_go():
    from factormap.engine.interventions.run import intervention_delta
    from factormap.engine.interventions.specs import SubtractAtReadout
    from factormap.tui.widgets.intervention_rows import ROWS

    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await _type(pilot, "feature cap=[A-Z][a-z]+")
        readout = await _readout_of(pilot, screen, "cap")
        await settle(pilot)
        pane = screen.query_one("#interventions")
        assert [d.edit.key for d in pane.row_defs[len(ROWS):]] == ["subtract_each_step.cap", "subtract_at_readout.cap"]
        readout_row = len(ROWS) + 1
        pane.toggle(readout_row)
        for _ in range(300):
            await wait_for_workers(pilot, rounds=1)
            if pane.rows[readout_row].stage == "done":
                break
        row = pane.rows[readout_row]
        direct = intervention_delta(Session(app.session.model, app.session.text),
                                    [SubtractAtReadout(readout.cov_direction)]).delta_bpc
        assert row.result.delta_bpc == pytest.approx(direct, abs=1e-6) and row.null is not None
        assert "−u_cap at readout" in pane.render().plain
        await _type(pilot, "unfeature cap")
        assert len(pane.row_defs) == len(pane.rows) == len(ROWS)
