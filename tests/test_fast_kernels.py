"""The fast float32 kernels (rational tanh, polynomial exp, fused readout) against plain numpy."""

import numpy as np
import pytest

from factormap.engine.forward import forward, kernel_weights, next_targets, readout, readout_into, recur
from factormap.engine.kernels import CACHE_LINE, aligned_copy
from factormap.engine.kernels.fastmath import EXP_LOWEST, exp_kernel, tanh_kernel
from factormap.engine.model import Model
from factormap.engine.session import Session
from tests import naive

EXTREMES = [0.0, -0.0, 1e-30, -1e-30, 7.9, -7.9, 8.0, 50.0, -50.0, 3.4e38, -3.4e38, np.inf, -np.inf]


def _f32(values):
    return np.asarray(values, dtype=np.float32)


def test_tanh_f32_within_3e7_everywhere():
    x = _f32(np.concatenate([np.linspace(-20, 20, 200_001), EXTREMES]))
    got = np.empty_like(x)
    tanh_kernel(x, got)
    assert np.max(np.abs(got - np.tanh(x.astype(np.float64)))) <= 3e-7


def test_exp_f32_relative_error_over_its_range():
    x = _f32(np.concatenate([np.linspace(float(EXP_LOWEST), 80, 400_001), [0.0, -1e-30, 1e-30]]))
    got = np.empty_like(x)
    exp_kernel(x, got)
    want = np.exp(x.astype(np.float64))
    assert np.max(np.abs(got - want) / want) <= 5e-7


def test_exp_f32_clamps_instead_of_underflowing():
    x = _f32([-87.5, -100.0, -1e4, -3.4e38, -np.inf])
    got = np.empty_like(x)
    exp_kernel(x, got)
    np.testing.assert_allclose(got, np.exp(np.float64(EXP_LOWEST)), rtol=5e-7)


@pytest.mark.parametrize("H", [1, 3, 8, 37, 128])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 11])
def test_readout_kernel_matches_numpy(random_model, rng, H, n):
    m = random_model(H, seed=H + n)
    states = rng.uniform(-1, 1, (n, H)).astype(np.float32)
    targets = rng.integers(0, 256, n)
    targets[-1] = -1
    got = readout(m, states, targets)
    lp = naive.log_probs(m.Wy, m.by, states)
    want_bits = -np.log2(np.maximum(np.exp(lp[np.arange(n - 1), targets[:-1]]), naive.PROB_FLOOR))
    np.testing.assert_allclose(got.bits[:-1], want_bits, atol=1e-4)
    assert np.isnan(got.bits[-1])
    np.testing.assert_array_equal(got.pred_byte, lp.argmax(axis=1))
    np.testing.assert_allclose(got.pred_prob, np.exp(lp.max(axis=1)), rtol=1e-5)


def test_readout_with_logits_far_apart(rng):
    """Logits hundreds apart: most exps underflow, targets hit the 1e-8 floor, nothing is NaN."""
    H = 4
    arrays = {"Wx": np.zeros((H, 256)), "Wh": np.zeros((H, H)), "bh": np.zeros(H),
              "Wy": rng.normal(0, 300, (256, H)), "by": rng.normal(0, 50, 256)}
    m = Model(**{k: v.astype(np.float32) for k, v in arrays.items()})
    states = rng.uniform(-1, 1, (9, H)).astype(np.float32)
    targets = rng.integers(0, 256, 9)
    got = readout(m, states, targets)
    lp = naive.log_probs(m.Wy, m.by, states)
    want = -np.log2(np.maximum(np.exp(lp[np.arange(9), targets]), naive.PROB_FLOOR))
    np.testing.assert_allclose(got.bits, want, atol=1e-4)
    assert np.all(np.isfinite(got.pred_prob)) and np.all(got.pred_prob <= 1.0)


@pytest.mark.parametrize("value", [1e-3, 1.0, 8.0, 1e3, 1e10, 1e20, 1e30, 3e38])
def test_equal_readout_rows_give_eight_bits_at_any_scale(random_model, sample_text, value):
    """Every row of Wy equal (every byte equally likely) is 8 bits however large the logits
    (issue 16: rows of 1e30 gave 0 bits while p was 1/256)."""
    base = random_model(16, scale=3.0)
    m = base.replace(Wy=np.full((256, 16), value, np.float32), by=np.zeros(256, np.float32))
    result = forward(m, sample_text)
    np.testing.assert_allclose(result.bits, 8.0, atol=1e-4)
    np.testing.assert_allclose(result.pred_prob, 1 / 256, rtol=1e-5)
    assert Session(m, sample_text).bpc == pytest.approx(8.0, abs=1e-4)


@pytest.mark.parametrize("scale", [1e-2, 0.3, 3.0, 30.0, 1e3, 1e6, 1e20, 1e36])
def test_readout_bits_equal_float64_at_any_weight_scale(random_model, rng, scale):
    """Readout rows close together at the scale of the weights: bits within 1e-4 of float64."""
    H, n = 128, 64
    base = rng.normal(0, 1, H)
    Wy = (scale * (base + rng.normal(0, 1e-3, (256, H)))).astype(np.float32)
    m = random_model(H).replace(Wy=Wy, by=(scale * rng.normal(0, 1e-2, 256)).astype(np.float32))
    states = np.tanh(rng.normal(0, 2, (n, H))).astype(np.float32)
    targets = rng.integers(0, 256, n)
    got = readout(m, states, targets)
    want = naive.bits(m.Wy, m.by, np.vstack([states, states[:1]]), np.append(targets[:1], targets))
    np.testing.assert_allclose(got.bits, want, atol=1e-4)


def test_readout_refuses_targets_outside_bytes(random_model):
    with pytest.raises(ValueError):
        readout(random_model(4), np.zeros((2, 4), np.float32), [0, 256])


@pytest.mark.reference
def test_reference_windows_and_bits(reference):
    """From the reference state, 64 fast steps stay within 1e-4; every position's bits within 1e-3."""
    model, text = reference
    x = np.frombuffer(text, np.uint8)
    ref_states = naive.forward_states(model.Wx, model.Wh, model.bh, x)
    for t0 in range(0, x.size - 64, 32):
        h0 = ref_states[t0 - 1].astype(np.float32) if t0 else None
        window = recur(model, x[t0:t0 + 64], h0)
        assert np.max(np.abs(window - ref_states[t0:t0 + 64])) <= 1e-4, t0
    ro = readout(model, ref_states.astype(np.float32), next_targets(x, 0, x.size))
    ref_bits = naive.bits(model.Wy, model.by, ref_states, x)
    assert np.max(np.abs(ro.bits[:-1] - ref_bits)) <= 1e-3
    whole = forward(model, text)
    assert np.max(np.abs(whole.bits - ref_bits)) <= 1e-3
    assert whole.bpc == pytest.approx(0.0792, abs=0.001)


def test_rows_near_float32_overflow_are_computed_in_float64(rng):
    """Rows whose logit bound passes 1e37 take the float64 path; the others stay in the kernel."""
    H, n = 4, 11
    signs = np.where(rng.random((256, H)) < 0.5, -1.0, 1.0)
    m = Model(Wx=np.zeros((H, 256), np.float32), Wh=np.zeros((H, H), np.float32), bh=np.zeros(H, np.float32),
              Wy=(signs * 8e37).astype(np.float32), by=np.zeros(256, np.float32))
    states = rng.uniform(-1, 1, (n, H)).astype(np.float32)
    states[::3] *= np.float32(1e-3)  # bound <= 3.2e35: these rows stay in float32
    targets = rng.integers(0, 256, n)
    bits = np.full(n - 2, -1.0, np.float32)
    pred_byte, pred_prob = np.empty(n, np.uint8), np.empty(n, np.float32)
    readout_into(m, states, targets, bits, pred_byte, pred_prob)
    lp = naive.log_probs(m.Wy, m.by, states)
    want = -np.log2(np.maximum(np.exp(lp[np.arange(n), targets]), naive.PROB_FLOOR))
    np.testing.assert_allclose(bits, want[: n - 2], atol=1e-4)
    np.testing.assert_array_equal(pred_byte, lp.argmax(axis=1))
    np.testing.assert_allclose(pred_prob, np.exp(lp.max(axis=1)), rtol=1e-5)


@pytest.mark.parametrize("shape", [(5,), (3, 7), (256, 128)])
def test_aligned_copy_starts_on_a_cache_line(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)[..., ::-1]  # a non-contiguous source
    got = aligned_copy(a)
    assert got.ctypes.data % CACHE_LINE == 0 and got.flags.c_contiguous and not got.flags.writeable
    np.testing.assert_array_equal(got, a)


def test_kernel_weights_are_made_once_per_model(random_model):
    m = random_model(6)
    w = kernel_weights(m)
    assert kernel_weights(m) is w
    np.testing.assert_array_equal(w.WhT, m.Wh.T)
    np.testing.assert_array_equal(w.logit_bound, np.append(np.abs(m.Wy).max(axis=0), np.abs(m.by).max()))
