"""The trust horizon and the Lyapunov exponent, against plain numpy on the same trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.engine.chaos import chaos, initial_tangent
from factormap.engine.errors import Cancelled
from factormap.engine.forward import recur
from factormap.engine.model import Model
from tests import naive


def _text(n, seed=0):
    return bytes(np.random.default_rng(seed).integers(32, 127, n).astype(np.uint8))


@pytest.mark.parametrize("scale, chunked", [(0.3, False), (3.0, False), (3.0, True)])
def test_figures_equal_numpy_on_the_same_states(random_model, scale, chunked, monkeypatch):
    if chunked:  # several chunks: the tangent and both states carry across chunk boundaries
        monkeypatch.setattr("factormap.engine.chaos.CHUNK", 64)
    model = random_model(12, seed=3, scale=scale)
    text = _text(300)
    got = chaos(model, text, tolerance=1e-4)
    h32 = recur(model, text)  # the float32 states the explorer computes
    h64 = naive.forward_states(model.Wx, model.Wh, model.bh, np.frombuffer(text, np.uint8))
    assert got.horizon == naive.trust_horizon(h32, h64, 1e-4)
    assert got.lyapunov == pytest.approx(naive.lyapunov_exponent(model.Wh, h64, initial_tangent(12)), rel=1e-9)
    assert got.positions == 300 and got.tolerance == 1e-4
    assert got.max_divergence == pytest.approx(np.max(np.abs(h32 - h64)), rel=1e-6)


def _gain_model(gain, H=32):
    """Small inputs and ``Wh`` of gain ``gain``: contracting below 1, chaotic well above."""
    rng = np.random.default_rng(5)
    return Model(Wx=0.1 * rng.normal(size=(H, 256)), Wh=gain * rng.normal(size=(H, H)) / np.sqrt(H),
                 bh=np.zeros(H), Wy=rng.normal(size=(256, H)), by=np.zeros(256)).astype(np.float32)


def test_a_contracting_model_is_trusted_and_a_chaotic_one_is_not():
    calm, wild = _gain_model(0.5), _gain_model(3.0)
    text = _text(2000, seed=1)
    a, b = chaos(calm, text), chaos(wild, text)
    assert a.horizon is None and a.lyapunov < 0
    assert b.horizon is not None and b.lyapunov > 0


def test_max_positions_bounds_the_work(random_model):
    got = chaos(random_model(8), _text(500), max_positions=100)
    assert got.positions == 100


def test_cancelled_between_chunks(random_model):
    with pytest.raises(Cancelled):
        chaos(random_model(8), _text(100), should_stop=lambda: True)


def test_reference_licence_text_parts_early(reference):
    """The issue's observation: on text it was not trained on, the reference model is chaotic."""
    model, text = reference
    got = chaos(model, text)
    assert got.positions == len(text)
    assert np.isfinite(got.lyapunov)
