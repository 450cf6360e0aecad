"""The workbench's engine: inspection, gradient rank, matched nulls and causal cost, each against a
direct computation on the whole column."""

import numpy as np
import pytest

from factormap.engine.attribution import attribution
from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.features import standard_features
from factormap.engine.factor_map.user_features import regex_feature
from factormap.engine.interventions.directions import random_unit_direction
from factormap.engine.interventions.oracle import fit_write_in_oracle
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import AblateNeurons, SubtractAtReadout, SubtractEachStep
from factormap.engine.session import Session
from factormap.engine.workbench.causal import causal_cost
from factormap.engine.workbench.extremes import RunningExtremes
from factormap.engine.workbench.gradient_rank import gradient_rank, sampled_predictions
from factormap.engine.workbench.inspect import inspect_probe
from factormap.engine.workbench.nulls import (
    SUBTRACT_AT_READOUT,
    SUBTRACT_EACH_STEP,
    MatchedNull,
    NullCache,
    matched_null,
    write_in_null,
)
from factormap.engine.workbench.probe import Probe

H = 12


@pytest.fixture
def session(random_model, sample_text):
    """A streamed session (re-run states, small chunks) of the sample text three times over, so
    that states repeat and equal values occur."""
    s = Session(random_model(H, seed=3), sample_text * 3, checkpoint_every=16, full_states_limit=0, chunk=32)
    yield s
    s.close()


def _column(session, probe):
    return probe.values(session.states(0, session.n))


def _sorted_positions(values, descending):
    positions = np.arange(values.size)
    return np.lexsort((positions, -values if descending else values))


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_running_extremes_equal_a_stable_sort_of_the_whole_column(block, rng):
    values = rng.integers(0, 5, 300).astype(np.float64)  # many equal values: ties by position
    extremes = RunningExtremes(9)
    for t0 in range(0, values.size, block):
        extremes.add(t0, values[t0:t0 + block])
    top, bottom = _sorted_positions(values, True)[:9], _sorted_positions(values, False)[:9]
    np.testing.assert_array_equal(extremes.top[0], top)
    np.testing.assert_array_equal(extremes.top[1], values[top])
    np.testing.assert_array_equal(extremes.bottom[0], bottom)


@pytest.mark.parametrize("probe_of", ["neuron", "direction"])
def test_inspection_equals_the_whole_column(session, probe_of):
    probe = (Probe.of_neuron(5, H) if probe_of == "neuron"
             else Probe.of_direction(random_unit_direction(11, H), "u_r"))
    ins = inspect_probe(session, probe, top=7, bins=13, threshold=0.1)
    a = _column(session, probe)
    top, bottom = _sorted_positions(a, True)[:7], _sorted_positions(a, False)[:7]
    np.testing.assert_array_equal(ins.top_positions, top)
    np.testing.assert_array_equal(ins.top_values, a[top])
    np.testing.assert_array_equal(ins.bottom_positions, bottom)
    np.testing.assert_array_equal(ins.bottom_values, a[bottom])
    counts, edges = np.histogram(a, bins=13)
    np.testing.assert_array_equal(ins.histogram_counts, counts)
    np.testing.assert_array_equal(ins.histogram_edges, edges)
    assert ins.fraction_above == np.mean(a >= 0.1)
    assert ins.fraction_at_or_above_edge(4) == np.mean(a >= edges[4])
    np.testing.assert_allclose([ins.mean, ins.sd], [a.mean(), a.std()], rtol=1e-10)
    assert ins.contexts[int(top[0])] == session.context(int(top[0]), 24, 12)


def test_inspection_of_a_neuron_finds_its_ties_by_position(session):
    ins = inspect_probe(session, Probe.of_neuron(3, H), top=20)
    ties = ins.top_values[1:] == ins.top_values[:-1]
    assert ties.any(), "the repeated text should give equal states"
    assert np.all(ins.top_positions[1:][ties] > ins.top_positions[:-1][ties])


def test_correlations_with_standard_and_user_features(session):
    probe = Probe.of_direction(random_unit_direction(2, H), "u_r")
    user = regex_feature(session.text, rb"[A-Z][a-z]+")
    ins = inspect_probe(session, probe, features={"capital": user})
    a = _column(session, probe)
    expected = {**standard_features(session.x), "capital": user}
    for name, f in expected.items():
        np.testing.assert_allclose(ins.correlations[name], np.corrcoef(a, f)[0, 1], rtol=1e-9, atol=1e-12)
    assert ins.to_dict()["correlation"]["capital"]["r"] == ins.correlations["capital"]


def test_inspection_stops_when_asked(session):
    with pytest.raises(Cancelled):
        inspect_probe(session, Probe.of_neuron(0, H), should_stop=lambda: True)


def test_gradient_rank_against_the_attributions_of_the_sampled_predictions(session):
    u = random_unit_direction(4, H)
    rank = gradient_rank(session, Probe.of_direction(u, "u"), samples=17, K=9)
    positions = sampled_predictions(session.n, 17)
    assert positions.size == 17 and positions[0] == 0 and positions[-1] == session.n - 2
    grads = [attribution(session, int(t), 9).grads.astype(np.float64) for t in positions]
    units = np.mean([np.sum(g * g, axis=0) for g in grads], axis=0)
    energy = np.mean([np.sum((g @ u) ** 2) for g in grads])
    np.testing.assert_allclose(rank.unit_energy, units, rtol=1e-12)
    np.testing.assert_allclose(rank.energy, energy, rtol=1e-12)
    assert rank.rank == 1 + np.sum(units > energy)
    best = int(np.argmax(units))
    assert gradient_rank(session, Probe.of_neuron(best, H), samples=17, K=9).rank == 1


def test_null_percentile_and_z_against_a_direct_computation(session):
    d = random_unit_direction(99, H)
    value = intervention_delta(session, [SubtractEachStep(d)]).delta_bpc
    null = matched_null(session, SUBTRACT_EACH_STEP, n=6, first_seed=10, cache=None)
    direct = np.array([intervention_delta(session, [SubtractEachStep(random_unit_direction(s, H))]).delta_bpc
                       for s in range(10, 16)])
    np.testing.assert_allclose(null.delta_bpc, direct, rtol=1e-12)
    cmp = null.compare(value)
    assert cmp.percentile == 100 * np.mean(direct < value)
    np.testing.assert_allclose(cmp.z, (value - direct.mean()) / direct.std(ddof=1))
    assert (cmp.null_mean, cmp.null_sd) == (null.mean, null.sd)


def test_percentile_counts_equal_values_as_half():
    null = MatchedNull.of("x", np.arange(4), [1.0, 2.0, 2.0, 3.0])
    assert (null.percentile(2.0), null.percentile(0.0), null.percentile(5.0)) == (50.0, 0.0, 100.0)
    assert np.isnan(MatchedNull.of("x", np.arange(1), [1.0]).z(2.0))


def test_nulls_are_cached_by_content_edit_and_seeds(random_model, sample_text):
    cache = NullCache()
    model = random_model(H, seed=3)
    a, b = Session(model, sample_text), Session(model, sample_text)
    first = matched_null(a, SUBTRACT_AT_READOUT, n=3, cache=cache)
    assert matched_null(b, SUBTRACT_AT_READOUT, n=3, cache=cache) is first
    assert matched_null(b, SUBTRACT_AT_READOUT, n=3, first_seed=1, cache=cache) is not first
    other = Session(model, sample_text[:-1])
    assert matched_null(other, SUBTRACT_AT_READOUT, n=3, cache=cache) is not first
    direct = intervention_delta(a, [SubtractAtReadout(random_unit_direction(2, H))]).delta_bpc
    np.testing.assert_allclose(first.delta_bpc[2], direct, rtol=1e-12)


def test_write_in_null_refits_the_oracle_on_each_random_direction(session):
    null = matched_null(session, write_in_null("word_len"), n=2, cache=None)
    for i, seed in enumerate(null.seeds):
        oracle = fit_write_in_oracle(session, random_unit_direction(int(seed), H), "word_len")
        np.testing.assert_allclose(null.delta_bpc[i], intervention_delta(session, [oracle]).delta_bpc, rtol=1e-12)
    assert null.edit == "write_in_oracle.word_len.linear"


def test_causal_cost_of_a_neuron_is_its_zero_ablation(session):
    cost = causal_cost(session, Probe.of_neuron(2, H), null_n=3, cache=None)
    each = intervention_delta(session, [AblateNeurons((2,), mode="zero", where="each_step")]).delta_bpc
    read = intervention_delta(session, [AblateNeurons((2,), mode="zero", where="readout")]).delta_bpc
    np.testing.assert_allclose([cost.each_step.delta_bpc, cost.readout.delta_bpc], [each, read], rtol=1e-6, atol=1e-9)
    assert cost.through_recurrence == cost.each_step.delta_bpc - cost.readout.delta_bpc
    figures = cost.to_dict()
    assert figures["through_recurrence"]["delta_bpc"] == cost.through_recurrence
    assert {"percentile", "z", "null_mean", "null_sd"} <= set(figures["each_step"]) & set(figures["readout"])
