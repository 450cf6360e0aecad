"""The factor map against plain numpy references, on random models, planted texts and the reference."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.compute import compute_factor_map, readout_feature
from factormap.engine.factor_map.features import FeatureError, after_space, standard_features
from factormap.engine.model import Model
from factormap.engine.factor_map.moments import MAX_COND_VALUES
from factormap.engine.factor_map.propagation import propagate
from factormap.engine.session import Session
from tests.naive import random_model_arrays

# -- plain numpy references ------------------------------------------------------------------


def naive_readout(S, f, min_support):
    """Every readout quantity straight from the definitions, on states held in memory."""
    S = np.asarray(S, np.float64)
    f = np.asarray(f, np.float64)
    per_neuron = np.array([np.corrcoef(S[:, j], f)[0, 1] for j in range(S.shape[1])])
    cov = ((S - S.mean(0)) * (f - f.mean())[:, None]).mean(0)
    u = cov / np.linalg.norm(cov)
    design = np.column_stack([np.ones(len(f)), S])
    beta = np.linalg.lstsq(design, f, rcond=None)[0][1:]
    values = np.array([k for k in np.unique(f) if np.sum(f == k) >= min_support])
    means = np.array([S[f == k].mean(0) for k in values])
    centred = means - means.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    s = s[: len(values) - 1]  # centring K means leaves at most K - 1 components
    pc1 = vt[0] if np.corrcoef(S @ vt[0], f)[0, 1] >= 0 else -vt[0]
    return {
        "per_neuron_r": per_neuron,
        "cov_direction": u,
        "cov_r": np.corrcoef(S @ u, f)[0, 1],
        "ols_r": np.corrcoef(S @ beta, f)[0, 1],
        "cond_values": values,
        "cond_means": means,
        "cond_distances": np.linalg.norm(means - means[0], axis=1),
        "explained_total": s ** 2 / np.sum(s ** 2),
        "explained_top3": s[:3] ** 2 / np.sum(s[:3] ** 2),
        "pc1": pc1,
    }


def planted_text(rng, n_words=400, max_len=9):
    """Words of random lengths 1..max_len separated by single spaces, with a few tags."""
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    words = []
    for i in range(n_words):
        word = bytes(rng.choice(letters, size=int(rng.integers(1, max_len + 1))))
        words.append(b"<" + word + b">" if i % 7 == 0 else word)
    return b" ".join(words)


@pytest.fixture
def streamed(random_model, rng):
    """A small random model and a planted text in a session that must stream (no full states)."""
    model = random_model(H=12, seed=3, scale=1.5)
    text = planted_text(rng)
    session = Session(model, text, checkpoint_every=64, chunk=128, full_states_limit=0)
    yield session
    session.close()


def all_states(session):
    return np.asarray(session.states(0, session.n), np.float64)


# -- readouts ------------------------------------------------------------------------------------


def test_streamed_readouts_match_the_numpy_reference(streamed):
    fm = compute_factor_map(streamed, min_support=5)
    S = all_states(streamed)
    for name, f in standard_features(streamed.x).items():
        ro, ref = fm.readouts[name], naive_readout(S, f, 5)
        np.testing.assert_allclose(ro.per_neuron_r, ref["per_neuron_r"], rtol=1e-9, atol=1e-12)
        assert ro.best_neuron == int(np.nanargmax(np.abs(ref["per_neuron_r"])))
        np.testing.assert_allclose(ro.cov_direction, ref["cov_direction"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ro.cov_r, ref["cov_r"], rtol=1e-9)
        np.testing.assert_allclose(ro.cov_r2, ref["cov_r"] ** 2, rtol=1e-9)
        np.testing.assert_allclose(ro.ols_r, ref["ols_r"], rtol=1e-6)
        np.testing.assert_array_equal(ro.cond_values, ref["cond_values"])
        np.testing.assert_allclose(ro.cond_means, ref["cond_means"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ro.cond_distances, ref["cond_distances"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ro.pca_explained_total, ref["explained_total"], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(ro.pca_explained_top3, ref["explained_top3"], rtol=1e-7)
        if ro.pca_explained_total.size < 2 or ro.pca_explained_total[0] > ro.pca_explained_total[1] + 1e-6:
            np.testing.assert_allclose(ro.pc1_direction, ref["pc1"], atol=1e-7)


def test_space_reset_and_cosines_match_the_reference(streamed):
    fm = compute_factor_map(streamed, min_support=5)
    S = all_states(streamed)
    a = after_space(streamed.x).astype(bool)
    np.testing.assert_allclose(fm.space_reset, np.linalg.norm(S[a].mean(0) - S[~a].mean(0)), rtol=1e-9)
    u_wl = fm.readouts["word_len"].cov_direction
    u_tag = fm.readouts["in_tag"].cov_direction
    np.testing.assert_allclose(fm.direction_cosines.cos("word_len", "in_tag"), u_wl @ u_tag, rtol=1e-12)
    space = np.asarray(streamed.model.Wx[:, 0x20], np.float64)
    v_wl = fm.readouts["word_len"].pc1_direction
    np.testing.assert_allclose(fm.input_cosines.cos("space", "word_len"),
                               space @ v_wl / np.linalg.norm(space), rtol=1e-9)
    np.testing.assert_allclose(fm.input_cosines.cos("space", "word_len", "cov"),
                               space @ u_wl / np.linalg.norm(space), rtol=1e-9)


def test_space_reset_is_computed_even_without_the_after_space_feature(streamed):
    feats = standard_features(streamed.x)
    with_it = compute_factor_map(streamed, feats)
    without = compute_factor_map(streamed, {"word_len": feats["word_len"]})
    assert without.space_reset == pytest.approx(with_it.space_reset, rel=1e-12)


def test_planted_word_lengths_give_exact_supports(streamed):
    wl = standard_features(streamed.x)["word_len"]
    fm = compute_factor_map(streamed, {"word_len": wl}, min_support=30)
    ro = fm.readouts["word_len"]
    values, counts = np.unique(wl, return_counts=True)
    np.testing.assert_array_equal(ro.cond_values, values[counts >= 30])
    np.testing.assert_array_equal(ro.cond_counts, counts[counts >= 30])
    assert ro.cond_values[0] == 0


def test_a_feature_written_into_the_state_is_read_out_perfectly(rng):
    S = rng.normal(size=(600, 6))
    f = rng.integers(0, 4, size=600).astype(float)
    S[:, 2] = 0.5 * f - 1.0
    ro = readout_feature(S, f, "planted", min_support=1)
    assert ro.best_neuron == 2
    assert ro.best_r == pytest.approx(1.0)
    assert ro.ols_r == pytest.approx(1.0)
    assert abs(ro.ols_direction[2]) == pytest.approx(1.0)
    assert ro.pc1_direction @ ro.cov_direction > 0


def test_streaming_equals_the_in_memory_readout(streamed):
    f = standard_features(streamed.x)["word_len"]
    fm = compute_factor_map(streamed, {"word_len": f}, min_support=5)
    ro = readout_feature(all_states(streamed), f, "word_len", min_support=5)
    np.testing.assert_allclose(fm.readouts["word_len"].cov_direction, ro.cov_direction, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fm.readouts["word_len"].cond_means, ro.cond_means, rtol=1e-9, atol=1e-13)


def test_continuous_features_get_no_conditional_means(streamed, rng):
    noise = rng.normal(size=streamed.n)
    many = np.arange(streamed.n, dtype=float) % (MAX_COND_VALUES + 1)
    fm = compute_factor_map(streamed, {"noise": noise, "many": many})
    for name in ("noise", "many"):
        ro = fm.readouts[name]
        assert ro.cond_values.size == 0 and not ro.has_pca
        assert np.all(np.isnan(ro.pc1_direction))
        assert name not in fm.propagations
        assert np.isfinite(ro.cov_r)


def test_constant_feature_has_nan_correlations(streamed):
    ro = compute_factor_map(streamed, {"zero": np.zeros(streamed.n)}).readouts["zero"]
    assert np.isnan(ro.cov_r) and np.isnan(ro.best_r) and ro.best_neuron == -1
    assert np.all(ro.cov_direction == 0)


def test_misaligned_features_are_refused(streamed):
    with pytest.raises(FeatureError, match="has 3 values but the text has"):
        compute_factor_map(streamed, {"short": np.zeros(3)})
    with pytest.raises(FeatureError, match="NaN"):
        compute_factor_map(streamed, {"bad": np.full(streamed.n, np.nan)})


def test_progress_reaches_one_and_should_stop_cancels(streamed):
    seen = []
    compute_factor_map(streamed, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 1
    with pytest.raises(Cancelled):
        compute_factor_map(streamed, should_stop=lambda: True)


def test_cancelled_mid_pass_leaves_no_lane_running(streamed):
    polls = []

    def stop_after_four_chunks():
        polls.append(None)
        return len(polls) > 4

    with pytest.raises(Cancelled):
        compute_factor_map(streamed, should_stop=stop_after_four_chunks)
    assert len(polls) == 5
    assert not [t.name for t in threading.enumerate() if t.name.startswith("factormap-lane")]


def test_two_passes_give_the_same_figures_bit_for_bit(streamed):
    """Each lane adds its own chunks in text order, whatever the threads' timing."""
    assert json.dumps(compute_factor_map(streamed).to_dict()) == json.dumps(compute_factor_map(streamed).to_dict())


def test_to_dict_names_the_quantities(streamed):
    d = compute_factor_map(streamed, min_support=5).to_dict()
    for key in ("word_len.cov_direction.r", "word_len.best_neuron.r", "word_len.cond_means.max_distance",
                "cosines.word_len.in_tag", "space_reset", "propagation.word_len.wh_v_norm",
                "input_cosines.space.word_len.pc1_direction"):
        assert key in d


# -- propagation -----------------------------------------------------------------------------------


def test_propagation_of_a_known_eigenvector_is_exact(rng):
    H = 8
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    lam = np.array([1.7, -0.9, 0.5, 0.3, 0.2, 0.1, -0.05, 0.01])
    Wh = Q @ np.diag(lam) @ Q.T
    v = 3.0 * Q[:, 0]
    p = propagate(Wh, v, subspace=Q[:, :3].T, powers=16)
    assert p.norm_Wh_v == pytest.approx(1.7)
    assert p.cos_Wh_v_v == pytest.approx(1.0)
    assert p.subspace_share == pytest.approx(1.0)
    np.testing.assert_allclose(p.power_norms, 1.7 ** np.arange(1, 17), rtol=1e-10)
    q = propagate(Wh, Q[:, 1], subspace=Q[:, 2:5].T)
    assert q.cos_Wh_v_v == pytest.approx(-1.0)
    assert q.subspace_share == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(propagate(Wh, Q[:, 1]).subspace_share)


def test_propagation_matches_numpy_powers(rng):
    Wh = rng.normal(size=(10, 10)) / 3
    v = rng.normal(size=10)
    S = np.linalg.qr(rng.normal(size=(10, 3)))[0].T
    p = propagate(Wh, v, subspace=S, powers=16)
    u = v / np.linalg.norm(v)
    w = Wh @ u
    assert p.norm_Wh_v == pytest.approx(np.linalg.norm(w))
    assert p.cos_Wh_v_v == pytest.approx(w @ u / np.linalg.norm(w))
    assert p.subspace_share == pytest.approx(np.linalg.norm(S.T @ S @ w) / np.linalg.norm(w))
    for k in (1, 8, 16):
        assert p.power_norm(k) == pytest.approx(np.linalg.norm(np.linalg.matrix_power(Wh, k) @ u), rel=1e-10)


def test_propagation_refuses_a_zero_direction():
    with pytest.raises(ValueError, match="nonzero"):
        propagate(np.eye(3), np.zeros(3))


def test_factor_map_propagates_v_f_in_its_own_subspace(streamed):
    fm = compute_factor_map(streamed, min_support=5)
    ro = fm.readouts["word_len"]
    ref = propagate(streamed.model.Wh, ro.pc1_direction, ro.pca_components[:3])
    assert fm.propagations["word_len"].norm_Wh_v == pytest.approx(ref.norm_Wh_v)
    assert fm.propagations["word_len"].subspace_share == pytest.approx(ref.subspace_share)


# -- the research's figures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_map(request):
    model, text = request.getfixturevalue("reference")
    session = Session(model, text)
    yield compute_factor_map(session)
    session.close()


def test_reference_figures(reference_map):
    fm = reference_map
    wl, tag = fm.readouts["word_len"], fm.readouts["in_tag"]
    assert wl.cov_r == pytest.approx(0.576, abs=0.005)
    assert tag.cov_r == pytest.approx(0.573, abs=0.005)
    assert fm.direction_cosines.cos("word_len", "in_tag") == pytest.approx(0.50, abs=0.01)
    assert wl.max_distance == pytest.approx(7.93, abs=0.05)
    assert wl.max_distance_value == 5
    assert fm.space_reset == pytest.approx(5.31, abs=0.01)
    assert fm.input_cosines.cos("space", "word_len") == pytest.approx(-0.15, abs=0.01)
    np.testing.assert_allclose(wl.pca_explained_top3, [0.38, 0.33, 0.29], atol=0.01)
    prop = fm.propagations["word_len"]
    assert prop.norm_Wh_v == pytest.approx(2.48, abs=0.01)
    assert prop.cos_Wh_v_v == pytest.approx(0.79, abs=0.01)
    assert prop.subspace_share == pytest.approx(0.92, abs=0.01)
    assert prop.power_norm(8) == pytest.approx(2831, abs=5)


def test_reference_single_neurons_are_far_above_the_seeds_0014(reference_map):
    assert abs(reference_map.readouts["word_len"].best_r) == pytest.approx(0.43, abs=0.01)
