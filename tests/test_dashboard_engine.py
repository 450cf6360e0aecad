"""The dashboard's engine functions against plain numpy loops over the whole text."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.factor_map.bpc_breakdown import TAG_NAMES, bits_by_group, bpc_breakdown
from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.features import CHAR_CLASS_NAMES
from factormap.engine.attribution.sparsity import gradient_sparsity
from factormap.engine.factor_map.representatives import first_occurrences, neuron_peaks, offset_peaks
from factormap.engine.session import Session
from tests import naive

TEXT = b"<p class=\"x\">The tide mill ground grain in 1840; its pond filled twice a day.</p>\n" * 3


@pytest.fixture
def session(random_model):
    model = random_model(12, seed=5, scale=1.5).astype(np.float64)
    s = Session(model, TEXT, checkpoint_every=64, chunk=50)
    yield s
    s.close()


def _arrays(session):
    m = session.model
    return {k: np.asarray(getattr(m, k), np.float64) for k in ("Wx", "Wh", "bh", "Wy", "by")}


def _naive_states(session):
    a = _arrays(session)
    return naive.forward_states(a["Wx"], a["Wh"], a["bh"], np.frombuffer(TEXT, np.uint8))


def _naive_bits(session):
    a = _arrays(session)
    x = np.frombuffer(TEXT, np.uint8)
    return naive.bits(a["Wy"], a["by"], _naive_states(session), x)


def _class_of(byte: int) -> str:
    c = chr(byte)
    if c.isascii() and c.isalpha():
        return "letter"
    if c.isdigit():
        return "digit"
    if c in " \t\n\r\x0b\x0c":
        return "space"
    if c in "<>":
        return "markup"
    if 0x21 <= byte < 0x7F:
        return "punctuation"
    return "other"


def test_breakdown_by_class_tag_and_word_position_matches_loops(session):
    result = bpc_breakdown(session, worst=5, word_positions=4)
    bits = np.asarray(session.bits, np.float64)  # the session keeps float32 bits: group those exactly
    assert_allclose(bits, _naive_bits(session), rtol=1e-5)
    x = TEXT
    groups = {"class": {}, "tag": {}, "word": {}}
    inside, since_sep = False, 0
    labels = []
    for i, b in enumerate(x):
        if b == ord("<"):
            inside = True
        elif b == ord(">"):
            inside = False
        since_sep = 0 if b in b" \n\t" else since_sep + 1
        labels.append((_class_of(b), TAG_NAMES[int(inside)], min(since_sep, 4)))
    for t in range(len(x) - 1):
        cls, tag, word = labels[t + 1]
        for kind, key in (("class", cls), ("tag", tag), ("word", word)):
            groups[kind].setdefault(key, []).append(t)
    for kind, table, names in (("class", result.by_class, CHAR_CLASS_NAMES), ("tag", result.by_tag, TAG_NAMES),
                               ("word", result.by_word_position, ("0", "1", "2", "3", "4+"))):
        assert table.names == tuple(names)
        for g, name in enumerate(names):
            key = name if kind != "word" else min(g, 4)
            ts = groups[kind].get(key, [])
            assert table.count[g] == len(ts)
            if ts:
                assert_allclose(table.mean_bits[g], np.mean(bits[ts]), rtol=1e-9)
                assert_allclose(table.share[g], np.sum(bits[ts]) / np.sum(bits), rtol=1e-9)
                assert table.worst[g] == ts[int(np.argmax(bits[ts]))]
            else:
                assert np.isnan(table.mean_bits[g]) and table.worst[g] == -1
    order = np.argsort(-bits, kind="stable")[:5]
    assert_array_equal(result.worst_positions, order)
    assert_allclose(result.worst_bits, bits[order], rtol=1e-9)
    assert_allclose(result.bpc, bits.mean(), rtol=1e-9)


def test_bits_by_group_takes_the_earliest_worst_on_ties():
    table = bits_by_group(np.array([1.0, 3.0, 3.0, 2.0]), np.array([0, 1, 1, 0]), ("a", "b", "c"))
    assert_array_equal(table.worst, [3, 1, -1])
    assert_array_equal(table.count, [2, 2, 0])


def test_gradient_sparsity_matches_per_prediction_loop(session):
    result = gradient_sparsity(session)
    a = _arrays(session)
    states = _naive_states(session)
    x = np.frombuffer(TEXT, np.uint8)
    H = states.shape[1]
    shares = []
    for t in range(len(x) - 1):
        logits = a["Wy"] @ states[t] + a["by"]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        onehot = np.zeros(256)
        onehot[x[t + 1]] = 1
        g = a["Wy"].T @ (onehot - p)
        e = np.sort(g ** 2)[::-1]
        shares.append(np.cumsum(e) / e.sum())
    assert result.predictions == len(x) - 1
    assert_array_equal(result.top_n, np.arange(1, H + 1))
    assert_allclose(result.mean_share, np.mean(shares, axis=0), rtol=1e-9)
    assert result.mean_share[-1] == pytest.approx(1.0)


def test_gradient_sparsity_at_ten_is_the_attribution_summary_top10_share(random_model):
    s = Session(random_model(16, seed=2), TEXT)
    try:
        assert gradient_sparsity(s).share(10) == pytest.approx(attribution_summary(s, K=2).top_share_k0, rel=1e-5)
    finally:
        s.close()


def test_neuron_peaks_match_argmax_of_absolute_states(session):
    peaks = neuron_peaks(session)
    states = _naive_states(session)
    assert_array_equal(peaks.position, np.argmax(np.abs(states), axis=0))
    assert_allclose(peaks.activation, states[peaks.position, np.arange(states.shape[1])], rtol=1e-9)


def test_first_occurrences_and_offset_peaks():
    assert_array_equal(first_occurrences(np.array([0, 2, 1, 2, 0]), np.array([2, 1, 5])), [1, 2, -1])
    norms = np.array([[1.0, 5.0, 5.0], [np.nan, 2.0, 7.0], [np.nan, np.nan, np.nan]])
    assert_array_equal(offset_peaks(norms), [1, 2, -1])


@pytest.mark.parametrize("fn", [gradient_sparsity, neuron_peaks])
def test_stopping_raises_cancelled(session, fn):
    with pytest.raises(Cancelled):
        fn(session, should_stop=lambda: True)
