"""Bounded memory for the attribution summary: the two-pass exact median, peak positions."""

import warnings

import numpy as np
import pytest

from factormap.engine.attribution import streamed_median
from factormap.engine.attribution import summary as summary_module
from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.factor_map.representatives import offset_peaks
from factormap.engine.session import Session
from factormap.engine.attribution.streamed_median import StreamedMedian, value_bins

REPEATED = b"the cat sat on the mat. " * 20  # repeats give many equal gradient norms


def streamed_medians(values, present, cuts, dtype):
    """Both passes over the column blocks between ``cuts``."""
    sm = StreamedMedian(values.shape[0])
    for feed in (sm.count, sm.keep):
        for a, b in zip(cuts[:-1], cuts[1:]):
            feed(values[:, a:b], present[:, a:b])
    return sm.medians(dtype)


def numpy_medians(values, present):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the median of an empty row is NaN
        return np.array([np.median(v[p]) for v, p in zip(values, present)], np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["spread", "ties", "narrow", "extremes"])
def test_streamed_medians_are_numpys(rng, dtype, kind):
    for _ in range(40):
        rows, n = int(rng.integers(1, 5)), int(rng.integers(1, 50))
        values = {
            "spread": lambda: rng.lognormal(0, 3, (rows, n)),
            "ties": lambda: rng.integers(0, 3, (rows, n)).astype(float),
            "narrow": lambda: rng.lognormal(0, 1e-4, (rows, n)),  # most values share a bin
            "extremes": lambda: rng.choice([0.0, 1e-30, 1e-12, 3.0, 1e6, 1e9, np.inf], (rows, n)),
        }[kind]().astype(dtype)
        present = rng.random((rows, n)) < 0.8
        cuts = [0, *np.sort(rng.integers(0, n, 3)).tolist(), n]
        np.testing.assert_array_equal(streamed_medians(values, present, cuts, dtype), numpy_medians(values, present))


def test_the_two_middle_values_may_lie_in_different_bins():
    values = np.array([[1.0, 2.0, 5.0, 0.5], [0.0, 0.0, 7.0, 7.0]], np.float32)
    assert value_bins(values[:, 1:2]).ravel().tolist() != value_bins(values[:, 2:3]).ravel().tolist()
    present = np.ones_like(values, bool)
    np.testing.assert_array_equal(streamed_medians(values, present, [0, 1, 4], np.float32), [1.5, 3.5])


def test_a_nan_or_an_empty_row_has_no_median_and_negative_values_are_refused():
    values = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]])
    present = np.array([[True, True, True], [False, False, False]])
    assert np.all(np.isnan(streamed_medians(values, present, [0, 3], np.float64)))
    with pytest.raises(ValueError, match="non-negative"):
        StreamedMedian(1).count(np.array([[-1.0]]), np.array([[True]]))


@pytest.mark.parametrize("dtype,scale", [(np.float64, 1.0), (np.float32, 30.0), (np.float32, 1.0)])
def test_a_tiny_budget_gives_the_same_summary_in_two_passes(random_model, monkeypatch, dtype, scale):
    monkeypatch.setattr(summary_module, "BLOCK", 37)
    model = random_model(8, seed=1, scale=scale).astype(dtype)
    session = Session(model, REPEATED)
    one = attribution_summary(session, K=7)
    fractions = []
    two = attribution_summary(session, K=7, progress=fractions.append, norms_budget=1)
    assert one.grad_norms.shape == (8, len(REPEATED) - 1) and two.grad_norms is None
    assert len({one.count[k] % 2 for k in range(2)}) == 2  # odd and even counts
    assert np.any([np.count_nonzero(one.grad_norms[k, k:] == one.median_norm[k]) > 1 for k in range(8)])
    np.testing.assert_allclose(two.median_norm, one.median_norm, rtol=1e-12)
    np.testing.assert_allclose(two.growth_median, one.growth_median, rtol=1e-12)
    np.testing.assert_allclose(two.mean_norm, one.mean_norm, rtol=1e-12)
    for name in ("count", "mean_abs_input_attr", "energy", "neurons_by_energy", "peak_positions"):
        np.testing.assert_array_equal(getattr(two, name), getattr(one, name), err_msg=name)
    assert two.top_share_k0 == one.top_share_k0
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0.5 in fractions


def test_peak_positions_are_the_argmax_of_grad_norms(random_model, sample_text, monkeypatch):
    monkeypatch.setattr(summary_module, "BLOCK", 50)
    summary = attribution_summary(Session(random_model(8, seed=2), sample_text), K=64)
    np.testing.assert_array_equal(summary.peak_positions, offset_peaks(summary.grad_norms))
    rows = np.arange(summary.K + 1)
    assert np.all(summary.peak_positions >= rows)
    np.testing.assert_array_equal(summary.grad_norms[rows, summary.peak_positions],
                                  np.nanmax(summary.grad_norms, axis=1))


def test_the_budget_decides_whether_the_norms_are_kept(random_model, sample_text):
    session = Session(random_model(8, seed=2), sample_text)
    need = 4 * 4 * (session.n - 1)  # K=3: four offsets of float32
    assert attribution_summary(session, K=3, norms_budget=need).grad_norms is not None
    assert attribution_summary(session, K=3, norms_budget=need - 1).grad_norms is None


def one_pass_medians(values, present, cuts, dtype, budget):
    """The first pass with a keep budget, then the second only if it is not resolved; and whether it was."""
    sm = StreamedMedian(values.shape[0], keep_budget=budget)
    blocks = list(zip(cuts[:-1], cuts[1:]))
    for a, b in blocks:
        sm.count(values[:, a:b], present[:, a:b])
        assert sum(k.nbytes + v.nbytes for k, v in sm._kept) <= budget
    resolved = sm.resolved()
    if not resolved:
        for a, b in blocks:
            sm.keep(values[:, a:b], present[:, a:b])
    return sm.medians(dtype), resolved


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["spread", "ties", "narrow", "drift"])
def test_one_pass_streamed_medians_are_numpys(rng, monkeypatch, dtype, kind):
    monkeypatch.setattr(streamed_median, "GUESS_SAMPLE", 20)
    resolved = []
    for _ in range(30):
        rows, n = int(rng.integers(1, 4)), int(rng.integers(30, 400))
        values = {
            "spread": lambda: rng.lognormal(0, 3, (rows, n)),
            "ties": lambda: rng.integers(0, 4, (rows, n)).astype(float),
            "narrow": lambda: rng.lognormal(0, 1e-4, (rows, n)),
            # the first values, from which the windows are guessed, lie below the others
            "drift": lambda: np.concatenate([rng.lognormal(-5, 0.1, (rows, 25)), rng.lognormal(0, 1, (rows, n))], 1),
        }[kind]().astype(dtype)
        present = rng.random(values.shape) < 0.9
        cuts = [0, 25, *np.sort(rng.integers(25, values.shape[1], 6)).tolist(), values.shape[1]]
        budget = int(rng.choice([1 << 20, 600]))  # ample, or small enough to shrink the windows
        got, was_resolved = one_pass_medians(values, present, cuts, dtype, budget)
        np.testing.assert_array_equal(got, numpy_medians(values, present))
        resolved.append(was_resolved)
    assert any(resolved) == (kind != "drift")  # a drifting median leaves its guessed window


def test_a_summary_whose_norms_are_not_kept_streams_its_medians_in_one_pass(random_model, monkeypatch):
    monkeypatch.setattr(summary_module, "BLOCK", 37)
    monkeypatch.setattr(streamed_median, "GUESS_SAMPLE", 150)
    monkeypatch.setattr(streamed_median, "GUESS_SPREAD", 0.2)
    text = bytes(np.random.default_rng(3).integers(97, 123, 600, dtype=np.uint8))
    session = Session(random_model(8, seed=4), text)
    kept = attribution_summary(session, K=7)
    blocks = []
    real = summary_module.offset_profiles
    monkeypatch.setattr(summary_module, "offset_profiles", lambda *a, **k: blocks.append(a[1]) or real(*a, **k))
    fractions = []
    streamed = attribution_summary(session, K=7, progress=fractions.append, norms_budget=8 * 599 * 4 - 1)
    assert streamed.grad_norms is None and blocks == list(range(0, 599, 37))  # one pass
    np.testing.assert_array_equal(streamed.median_norm, kept.median_norm)
    np.testing.assert_allclose(streamed.mean_norm, kept.mean_norm, rtol=1e-12)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0.5 in fractions


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_bin_kernels_count_and_keep_as_value_bins_says(rng, dtype):
    from factormap.engine.kernels.value_bins import count_bins_kernel, keep_in_windows_kernel

    layout, bins = streamed_median._LAYOUT, streamed_median._BINS
    values = rng.choice([0.0, -0.0, 1e-45, 1e-30, 3.0, 1e9, np.inf, np.nan], (5, 300)).astype(dtype)
    values[:, :100] = rng.lognormal(0, 5, (5, 100))
    present = rng.random(values.shape) < 0.8
    own = value_bins(values)
    counts = np.zeros((5, bins), np.int64)
    assert count_bins_kernel(values, present, layout, counts)
    np.testing.assert_array_equal(counts, [np.bincount(own[r][present[r]], minlength=bins) for r in range(5)])
    windows = np.array([rng.integers(0, bins // 2, 5), rng.integers(bins // 2, bins, 5)])
    keys, kept = np.empty(values.size, np.int64), np.empty(values.size, dtype)
    n = keep_in_windows_kernel(values, present, layout, windows, keys, kept)
    rows, cols = np.nonzero(present & (own != 0) & (own >= windows[0][:, None]) & (own <= windows[1][:, None]))
    np.testing.assert_array_equal(keys[:n], rows * bins + own[rows, cols])
    np.testing.assert_array_equal(kept[:n], values[rows, cols])
    assert not count_bins_kernel(-values[:, :1] - 1, present[:, :1], layout, counts)  # negatives refused
