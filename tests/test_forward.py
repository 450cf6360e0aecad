"""The numba forward pass against the plain numpy reference in tests/naive.py."""

import numpy as np
import pytest

from factormap.engine.forward import forward
from tests import naive


@pytest.mark.parametrize("H", [1, 5, 37, 64, 128, 200])
def test_forward_matches_numpy_reference(random_model, sample_text, H):
    m = random_model(H, seed=H)
    x = np.frombuffer(sample_text, np.uint8)
    ref_states = naive.forward_states(m.Wx, m.Wh, m.bh, x)
    ref_bits = naive.bits(m.Wy, m.by, ref_states, x)
    got = forward(m, sample_text)
    assert got.states.dtype == np.float32
    assert np.max(np.abs(got.states - ref_states)) <= 1e-5
    assert abs(got.bpc - ref_bits.mean()) <= 1e-5
    np.testing.assert_allclose(got.bits, ref_bits, atol=1e-3)


def test_float64_mode_is_exact(random_model, sample_text):
    m = random_model(16).astype(np.float64)
    x = np.frombuffer(sample_text, np.uint8)
    got = forward(m, sample_text)
    np.testing.assert_allclose(got.states, naive.forward_states(m.Wx, m.Wh, m.bh, x), atol=1e-12)


def test_h0_continues_a_sequence(random_model, sample_text):
    m = random_model(8)
    whole = forward(m, sample_text).states
    second = forward(m, sample_text[100:], h0=whole[99]).states
    np.testing.assert_allclose(second, whole[100:], atol=1e-6)


def test_probability_floor_caps_bits():
    from factormap.engine.model import Model

    H = 2
    Wy = np.zeros((256, H), np.float32)
    by = np.zeros(256, np.float32)
    by[ord("a")] = 60.0  # every other byte has p ~ e^-60, far under the 1e-8 floor
    m = Model(Wx=np.zeros((H, 256)), Wh=np.zeros((H, H)), bh=np.zeros(H), Wy=Wy, by=by)
    r = forward(m, b"ab")
    assert r.bits[0] == pytest.approx(-np.log2(1e-8), rel=1e-6)
    assert r.pred_byte[0] == ord("a")


@pytest.mark.reference
def test_reference_figures(reference):
    model, text = reference
    r = forward(model, text)
    assert r.bpc == pytest.approx(0.0792, abs=0.0005)
    assert model.spectral_radius == pytest.approx(2.76, abs=0.01)
    assert model.wh_frobenius == pytest.approx(16.98, abs=0.01)
