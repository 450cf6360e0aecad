"""The factor map's moment kernels against plain float64 numpy, over blocks of every length."""

import numpy as np
import pytest

from factormap.engine.factor_map.moments import FeatureMoments, StateMoments


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blocks", [(1,), (7, 9), (8, 16, 3), (100, 1, 37)])
def test_state_and_feature_moments_equal_numpy(rng, dtype, blocks):
    H = 13
    n = sum(blocks)
    states = rng.uniform(-1, 1, (n, H)).astype(dtype)
    f = rng.integers(-2, 3, n).astype(np.float64)
    sm, fm = StateMoments(H), FeatureMoments(H)
    start = 0
    for size in blocks:
        fm.add(sm.add(states[start:start + size]), f[start:start + size])
        start += size
    S = states.astype(np.float64)
    np.testing.assert_allclose(sm.mean, S.mean(axis=0), rtol=0, atol=1e-13)
    np.testing.assert_allclose(sm.cov, np.cov(S.T, bias=True), rtol=0, atol=1e-13)
    np.testing.assert_allclose(fm.cov_with(sm), ((S - S.mean(0)) * (f - f.mean())[:, None]).mean(0), atol=1e-13)
    assert sorted(fm.value_counts) == sorted(np.unique(f).tolist())
    for value, count in fm.value_counts.items():
        rows = S[f == value]
        assert count == rows.shape[0]
        np.testing.assert_allclose(sm.shift + fm.value_sums[value] / count, rows.mean(axis=0), atol=1e-13)


def test_a_continuous_feature_keeps_no_value_sums_and_the_same_cross(rng):
    H, n = 5, 50
    states = rng.normal(size=(n, H))
    f = rng.normal(size=n)
    sm, fm = StateMoments(H), FeatureMoments(H)
    fm.add(sm.add(states[:20]), f[:20])
    fm.add(sm.add(states[20:]), f[20:])
    assert not fm.discrete and not fm.value_sums
    np.testing.assert_allclose(fm.cov_with(sm), ((states - states.mean(0)) * (f - f.mean())[:, None]).mean(0),
                               atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blocks", [(1,), (7, 9), (8, 16, 3), (100, 1, 37)])
def test_states_added_with_their_features_equal_numpy(rng, dtype, blocks):
    """One pass over the states with every feature (as the factor map adds a chunk): the same sums."""
    H = 13
    n = sum(blocks)
    states = rng.uniform(-1, 1, (n, H)).astype(dtype)
    features = {"small": rng.integers(-2, 3, n).astype(np.float64), "wide": rng.integers(0, 10**6, n) * 3.0,
                "continuous": rng.normal(size=n)}
    sm = StateMoments(H)
    moments = {name: FeatureMoments(H) for name in features}
    start = 0
    for size in blocks:
        sm.add_with_features(states[start:start + size],
                             [(moments[name], f[start:start + size]) for name, f in features.items()])
        start += size
    S = states.astype(np.float64)
    np.testing.assert_allclose(sm.mean, S.mean(axis=0), rtol=0, atol=1e-13)
    np.testing.assert_allclose(sm.cov, np.cov(S.T, bias=True), rtol=0, atol=1e-13)
    assert not moments["continuous"].value_sums
    for name, f in features.items():
        fm = moments[name]
        assert fm.n == n
        np.testing.assert_allclose(fm.cov_with(sm), ((S - S.mean(0)) * (f - f.mean())[:, None]).mean(0),
                                   rtol=1e-12, atol=1e-13)
        if name != "continuous":
            assert sorted(fm.value_counts) == sorted(np.unique(f).tolist())
        for value, count in fm.value_counts.items():
            rows = S[f == value]
            assert count == rows.shape[0]
            np.testing.assert_allclose(sm.shift + fm.value_sums[value] / count, rows.mean(axis=0), atol=1e-13)
