"""The research's edits are defined once: the report's table and the app's rows build the same specs."""

import numpy as np
import pytest

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.interventions import specs
from factormap.engine.interventions.suite import intervention_suite
from factormap.engine.interventions.table import CONTROL_EDITS, FEATURES, EditContext, feature_edits, research_edit
from factormap.engine.session import Session
from factormap.tui.widgets.intervention_rows import ROWS


def _words(n_words: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return b" ".join(b"<b>" + b"x" * int(k) + b"</b>" if k % 3 == 0 else b"y" * int(k)
                     for k in rng.integers(1, 9, n_words))


def test_every_spec_class_follows_its_protocol():
    u = np.ones(4)
    state = [specs.SubtractEachStep(u), specs.SubtractAtReadout(u), specs.RandomDirection(0),
             specs.AblateNeurons((1,)), specs.ScaleDirection(u, 0.5)]
    for spec in state:
        assert isinstance(spec, specs.StateSpec) and not isinstance(spec, specs.WeightSpec)
    weights = specs.EditWeights(np.ones((4, 1)))
    assert isinstance(weights, specs.WeightSpec) and not isinstance(weights, specs.StateSpec)


def test_the_panes_rows_are_edits_of_the_table():
    keys = {e.key for e in CONTROL_EDITS} | {e.key for f in FEATURES for e in feature_edits(f)}
    assert {row.edit.key for row in ROWS} <= keys
    with pytest.raises(KeyError):
        research_edit("no_such_edit")


def test_the_report_and_the_pane_build_the_same_spec(random_model):
    session = Session(random_model(8), _words(300))
    fm = compute_factor_map(session, tuple(FEATURES))
    suite = intervention_suite(session, band_n=1, random_n=2)
    by_key = {row.key: row for row in suite.rows}
    for row in ROWS:
        if row.edit.key not in by_key:
            continue
        spec = row.build(session, fm, 3, lambda f: None, lambda: False)
        assert spec.describe() == by_key[row.edit.key].edits
    table_keys = [e.key for f in FEATURES for e in feature_edits(f)
                  if e.available(fm)]
    assert [row.key for row in suite.rows[:-1]] == table_keys
    assert research_edit("ablate_neuron").build(EditContext(session, neuron=5)).units == (5,)
