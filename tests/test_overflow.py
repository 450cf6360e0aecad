"""Weights at the edge of float32: saturated tanh and huge logits give finite bits, never NaN.

Every loadable model has finite float32 weights, but their products need not be finite: a
pre-activation or a logit can exceed float32's 3.4e38. The bits must still be finite (at most
the floor's -log2 1e-8 = 26.58 bits), so no NaN spreads into the BPC and the figures.
"""

import math

import numpy as np
import pytest

from factormap.engine.errors import FactormapError
from factormap.engine.forward import forward, readout
from factormap.engine.model import Model
from factormap.engine.session import Session
from tests import naive

FLOOR_BITS = -math.log2(naive.PROB_FLOOR)
F32_MAX = float(np.finfo(np.float32).max)


def _text():
    return bytes(range(256)) * 3 + b"the end of the text\n" * 10


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def _assert_sane(bits, pred_prob):
    assert np.all(np.isfinite(bits)), f"{np.count_nonzero(~np.isfinite(bits))} non-finite bits"
    assert np.all((bits >= 0) & (bits <= FLOOR_BITS + 1e-4))
    assert np.all(np.isfinite(pred_prob) & (pred_prob > 0) & (pred_prob <= 1 + 1e-6))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_recurrence_keeps_states_and_bits_finite(random_model, rng, dtype):
    base = random_model(8)
    big = np.float32(F32_MAX / 2)  # bh + Wx overflows to +-inf; Wh @ h too
    m = base.replace(Wx=_signs(rng, (8, 256)) * big, Wh=_signs(rng, (8, 8)) * big,
                     bh=_signs(rng, 8) * big).astype(dtype)
    result = forward(m, _text())
    assert np.all(np.abs(result.states) <= 1)
    _assert_sane(result.bits, result.pred_prob)
    assert math.isfinite(Session(m, _text(), full_states_limit=0).bpc)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_finite_logits_hit_the_floor_exactly(random_model, rng, dtype):
    """Logits of order 1e30: every wrong byte has p = 0 and costs the floor, the argmax 0 bits."""
    m = random_model(8).replace(Wy=(rng.standard_normal((256, 8)) * 1e30).astype(np.float32)).astype(dtype)
    text = _text()
    result = forward(m, text)
    _assert_sane(result.bits, result.pred_prob)
    expected = naive.bits(m.Wy, m.by, naive.forward_states(m.Wx, m.Wh, m.bh, np.frombuffer(text, np.uint8)),
                          np.frombuffer(text, np.uint8))
    hit = result.pred_byte[:-1] == np.frombuffer(text, np.uint8)[1:]
    np.testing.assert_allclose(result.bits[~hit], FLOOR_BITS, rtol=1e-6)
    np.testing.assert_allclose(result.bits, expected, atol=1e-4)


def _overflowing_readout(random_model, rng) -> Model:
    """|Wy @ h + by| exceeds float32's range for every state (|h| is about 1 after saturation)."""
    base = random_model(8, scale=50.0)  # saturated tanh: |h_t| = 1 nearly everywhere
    return base.replace(Wy=_signs(rng, (256, 8)) * np.float32(F32_MAX / 2),
                        by=_signs(rng, 256) * np.float32(F32_MAX / 2))


def test_readout_overflowing_float32_gives_finite_bits(random_model, rng):
    m = _overflowing_readout(random_model, rng)
    text = _text()
    xs = np.frombuffer(text, np.uint8)
    states = forward(m, text).states
    ro = readout(m, states, np.append(xs[1:], -1).astype(np.int64))
    _assert_sane(ro.bits[:-1], ro.pred_prob)
    np.testing.assert_allclose(ro.bits[:-1], naive.bits(m.Wy, m.by, states, xs), atol=1e-3)


def test_session_bpc_stays_finite_when_the_readout_overflows(random_model, rng):
    s = Session(_overflowing_readout(random_model, rng), _text(), full_states_limit=0)
    assert math.isfinite(s.bpc)
    _assert_sane(s.bits, s.predictions(0, s.n)[1])


def test_float64_readout_of_a_float32_overflow_is_finite(random_model, rng):
    """The same weights in float64 do not overflow: the reference the float32 path must match."""
    m = _overflowing_readout(random_model, rng).astype(np.float64)
    result = forward(m, _text())
    _assert_sane(result.bits, result.pred_prob)


@pytest.mark.parametrize("where", ["each_step", "readout"])
@pytest.mark.parametrize("alpha", [1e10, 1e30, 3e38])
def test_huge_interventions_give_finite_bits_or_a_documented_error(random_model, where, alpha):
    from factormap.engine.interventions.run import intervention_delta
    from factormap.engine.interventions.specs import ScaleDirection

    session = Session(random_model(8), _text())
    try:
        result = intervention_delta(session, [ScaleDirection(direction=np.ones(8), alpha=alpha, where=where)])
    except FactormapError as exc:
        assert "\n" not in str(exc)
        return
    _assert_sane(result.bits, np.ones(1))
    assert math.isfinite(result.bpc) and math.isfinite(result.delta_bpc)
