"""Streamed features equal the whole-text ones bit for bit, and every figure built on them is the
same whether the features are streamed or given as whole arrays, across chunk boundaries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factormap.engine.factor_map import bpc_breakdown as bpc_module
from factormap.engine.factor_map.bpc_breakdown import CHAR_CLASS_NAMES, TAG_NAMES, bits_by_group, bpc_breakdown
from factormap.engine.errors import FactormapError
from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.stream import FeatureColumn, FeatureStream
from factormap.engine.factor_map.features import (
    STANDARD_FEATURES,
    FeatureError,
    after_space,
    char_class,
    in_tag,
    standard_features,
    tag_depth,
    word_len,
)
from factormap.engine.interventions.analysis import residual_readout
from factormap.engine.interventions.directions import unit
from factormap.engine.interventions.oracle import fit_write_in_oracle, oracle_values
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import SubtractEachStep, WriteInOracle
from factormap.engine.factor_map.representatives import first_occurrences, first_occurrences_of_feature
from factormap.engine.session import Session

WHOLE = {"word_len": word_len, "in_tag": in_tag, "tag_depth": tag_depth, "after_space": after_space}
MARKUP_TEXTS = st.lists(st.sampled_from(list(b"ab<>/!? \n\t")), max_size=80).map(bytes)
FAST = settings(max_examples=150, deadline=None)

#: A tagged text whose tags and words straddle the small chunks below.
TEXT = (b'<doc>\n<p class="a">Some words <b>in bold</b> and <br/> more</p>\n<!-- note -->'
        b"<?pi x?><> stray > text\t<q><r>deep</r></q></doc>\n") * 6


@FAST
@given(text=MARKUP_TEXTS, step=st.sampled_from([1, 2, 3, 7]))
def test_streamed_chunks_equal_the_whole_text_features(text, step):
    stream = FeatureStream(text, step=step)
    pieces = {name: [] for name in STANDARD_FEATURES}
    expected_t0 = 0
    for t0, t1, values in stream.chunks():
        assert t0 == expected_t0 and t1 - t0 <= step
        expected_t0 = t1
        for name, v in values.items():
            assert v.dtype == np.float64 and v.shape == (t1 - t0,)
            pieces[name].append(v)
    assert expected_t0 == len(text)
    for name, fn in WHOLE.items():
        got = np.concatenate(pieces[name]) if pieces[name] else np.empty(0)
        assert got.tobytes() == fn(text).tobytes(), name


@FAST
@given(text=MARKUP_TEXTS, step=st.sampled_from([1, 2, 3, 7]), data=st.data())
def test_any_range_in_any_order_equals_the_slice(text, step, data):
    stream = FeatureStream(text, ("tag_depth", "word_len"), step=step)
    whole = standard_features(text)
    n = len(text)
    for _ in range(4):
        t0 = data.draw(st.integers(0, n))
        t1 = data.draw(st.integers(t0, n))
        got = stream.range(t0, t1)
        assert list(got) == ["tag_depth", "word_len"]
        for name, v in got.items():
            assert v.tobytes() == whole[name][t0:t1].tobytes(), (name, t0, t1)


def test_a_boundary_inside_a_tag_carries_its_start_and_the_depth():
    text = b"<ab><c/></ab>  x</y>"
    for step in (1, 2, 3, 5):
        values = {name: np.concatenate([v[name] for _, _, v in FeatureStream(text, step=step).chunks()])
                  for name in STANDARD_FEATURES}
        for name, fn in WHOLE.items():
            np.testing.assert_array_equal(values[name], fn(text))
    assert tag_depth(text)[3] == 1 and tag_depth(text)[12] == 0 and tag_depth(text)[-1] == -1


def test_streams_and_columns_refuse_bad_features():
    with pytest.raises(FeatureError, match="no standard feature named 'vowel'"):
        FeatureStream(b"abc", ("word_len", "vowel"))
    with pytest.raises(ValueError, match="not within"):
        FeatureStream(b"abc").range(2, 4)
    with pytest.raises(FactormapError, match="has 2 values but the text has 3 bytes"):
        FeatureColumn(b"abc", np.zeros(2))
    with pytest.raises(FeatureError, match="NaN"):
        FeatureColumn(b"abc", np.array([0.0, np.nan, 1.0]))
    named, given = FeatureColumn(b"ab cd", "word_len", step=2), FeatureColumn(b"ab cd", word_len(b"ab cd"))
    assert named.streamed and not given.streamed
    np.testing.assert_array_equal(named.range(1, 4), given.range(1, 4))


# -- figures built on the features: streamed == whole arrays, across many chunks ------------------
@pytest.fixture
def session(random_model):
    s = Session(random_model(8, scale=0.7), TEXT, chunk=37, checkpoint_every=16)
    yield s
    s.close()


def test_factor_map_of_streamed_features_equals_the_whole_arrays(session):
    whole = standard_features(session.x)
    assert compute_factor_map(session).to_dict() == compute_factor_map(session, whole).to_dict()
    pair = ("word_len", "in_tag")
    assert (compute_factor_map(session, pair).to_dict()
            == compute_factor_map(session, {k: whole[k] for k in pair}).to_dict())
    vowels = np.isin(session.x, list(b"aeiou")).astype(np.float64)
    with_extra = compute_factor_map(session, extra_features={"vowel": vowels}).to_dict()
    assert with_extra == compute_factor_map(session, whole | {"vowel": vowels}).to_dict()
    with pytest.raises(FeatureError, match="'in_tag' already exists"):
        compute_factor_map(session, extra_features={"in_tag": vowels})
    with pytest.raises(FeatureError, match="no features"):
        compute_factor_map(session, ())


def test_bpc_breakdown_in_small_blocks_equals_the_whole_arrays(session, monkeypatch):
    monkeypatch.setattr(bpc_module, "BLOCK", 5)
    result = bpc_breakdown(session, worst=4, word_positions=3)
    bits = np.asarray(session.bits, np.float64)
    x = session.x
    for table, codes, names in (
        (result.by_class, char_class(x[1:]), CHAR_CLASS_NAMES),
        (result.by_tag, in_tag(x)[1:], TAG_NAMES),
        (result.by_word_position, np.minimum(word_len(x)[1:], 3), ("0", "1", "2", "3+")),
    ):
        whole = bits_by_group(bits, codes, names)
        np.testing.assert_array_equal(table.count, whole.count)
        np.testing.assert_array_equal(table.worst, whole.worst)
        np.testing.assert_array_equal(table.mean_bits, whole.mean_bits)  # sums added in the same order
        np.testing.assert_allclose(table.share, whole.share, rtol=1e-12)
    assert result.bpc == pytest.approx(bits.mean(), rel=1e-12)


def test_first_occurrences_streamed_equal_the_whole_array(session):
    values = np.array([0, 1, 4, 7, 999])
    np.testing.assert_array_equal(first_occurrences_of_feature(session.x, "word_len", values),
                                  first_occurrences(word_len(session.x), values))


def _direction(session):
    return compute_factor_map(session, ("word_len",)).readouts["word_len"].cov_direction


def test_oracle_fitted_on_the_streamed_feature_writes_the_array_fits_values(session):
    u = _direction(session)
    f = word_len(session.x)
    p = session.states(0, session.n).astype(np.float64) @ unit(u)  # the fit's u, normalised again
    for variant in ("linear", "conditional_mean"):
        streamed = fit_write_in_oracle(session, u, "word_len", variant)
        given = fit_write_in_oracle(session, u, f, variant)
        values = np.asarray(streamed.values)
        np.testing.assert_array_equal(values, np.asarray(given.values))
        np.testing.assert_array_equal(values[40:111], streamed.values[40:111])
        assert streamed.values.shape == (session.n,) and len(streamed.values) == session.n
        if variant == "conditional_mean":  # each value's sum adds p in position order, as bincount did
            _, inverse = np.unique(f, return_inverse=True)
            np.testing.assert_array_equal(values, (np.bincount(inverse, weights=p) / np.bincount(inverse))[inverse])
        else:
            a = np.mean((p - p.mean()) * (f - f.mean())) / f.var()
            np.testing.assert_allclose(values, a * f + p.mean() - a * f.mean(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(values, oracle_values(p, f, variant), rtol=0, atol=1e-12)
        as_array = WriteInOracle(u, values, variant=variant)
        assert intervention_delta(session, [streamed]).delta_bpc == intervention_delta(session, [as_array]).delta_bpc


def test_oracle_of_a_constant_feature_writes_the_mean_projection(session):
    u = _direction(session)
    spec = fit_write_in_oracle(session, u, np.full(session.n, 3.0), "linear")
    p = session.states(0, session.n).astype(np.float64) @ u
    np.testing.assert_allclose(np.asarray(spec.values), p.mean(), rtol=1e-12)
    with pytest.raises(TypeError, match="contiguous"):
        spec.values[::2]
    with pytest.raises(FactormapError, match="variant"):
        fit_write_in_oracle(session, u, "word_len", "median")


def test_residual_readout_of_the_streamed_feature_equals_the_array_one(session):
    spec = [SubtractEachStep(_direction(session))]
    by_name = residual_readout(session, spec, "tag_depth", "tag_depth")
    by_array = residual_readout(session, spec, tag_depth(session.x), "tag_depth")
    assert by_name.r == by_array.r and by_name.result.delta_bpc == by_array.result.delta_bpc
    np.testing.assert_array_equal(by_name.readout.cov_direction, by_array.readout.cov_direction)
