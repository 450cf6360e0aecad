"""The trainer: BPTT gradients against numpy and finite differences, whole epochs against a numpy
epoch, and the run's promises (BPC goes down, same bytes twice, stop keeps the best model)."""

import numpy as np
import pytest

from factormap.engine.training.bptt import init_model, pack, segment_gradient, unpack
from factormap.engine.errors import FactormapError
from factormap.engine.forward import forward
from factormap.engine.kernels.training import KernelSettings, TrainState, train_segments_kernel
from factormap.engine.model import ARRAY_NAMES, Model
from factormap.engine.training.trainer import TrainConfig, Trainer, cosine_lr
from tests import naive


def _arrays(model):
    return {n: getattr(model, n) for n in ARRAY_NAMES}


def _loss(arrays, x, h0):
    return naive.segment_loss_grad(arrays, x, h0)[0]


def test_gradient_matches_central_finite_differences(random_model, sample_text, rng):
    model = random_model(5, seed=3, scale=0.5).astype(np.float64)
    x = np.frombuffer(sample_text[:40], np.uint8)
    h0 = rng.normal(0, 0.5, 5)
    got = segment_gradient(model, x, h0)
    arrays = _arrays(model)
    eps = 1e-6
    for name in ARRAY_NAMES:
        flat = arrays[name].ravel()
        touched = np.flatnonzero(got.grads[name].ravel())
        picks = np.concatenate([touched[:12], rng.choice(flat.size, 4, replace=False)])
        for k in picks:
            up, down = flat.copy(), flat.copy()
            up[k] += eps
            down[k] -= eps
            fd = (_loss({**arrays, name: up.reshape(arrays[name].shape)}, x, h0)
                  - _loss({**arrays, name: down.reshape(arrays[name].shape)}, x, h0)) / (2 * eps)
            assert got.grads[name].ravel()[k] == pytest.approx(fd, rel=1e-5, abs=1e-7), (name, k)
    assert got.nats == pytest.approx(_loss(arrays, x, h0), rel=1e-12)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-3)])
def test_gradient_matches_numpy_bptt(random_model, sample_text, rng, dtype, tol):
    model = random_model(24, seed=5, scale=0.4).astype(dtype)
    x = np.frombuffer(sample_text[:60], np.uint8)
    h0 = rng.normal(0, 0.3, 24)
    got = segment_gradient(model, x, h0)
    nats, ref, h_last = naive.segment_loss_grad(_arrays(model), x, h0)
    for name in ARRAY_NAMES:
        scale = np.abs(ref[name]).max()
        np.testing.assert_allclose(got.grads[name], ref[name], atol=tol * scale, err_msg=name)
    np.testing.assert_allclose(got.h_last, h_last, atol=tol)
    assert got.nats == pytest.approx(nats, rel=tol)


@pytest.mark.parametrize("adam", [False, True])
def test_one_epoch_matches_numpy_epoch(random_model, sample_text, adam):
    """Carried state across segments, clipping (the tiny clip is active) and the update rule."""
    model = random_model(8, seed=7, scale=0.5).astype(np.float64)
    x = np.frombuffer(sample_text, np.uint8)
    bptt, clip = 17, 0.5
    segments = -(-(len(x) - 1) // bptt)
    lrs = cosine_lr(0.05, np.arange(segments), segments)
    theta = pack(model)
    state = TrainState(theta=theta, moments=np.zeros((2, theta.size)), h=np.zeros(8))
    settings = KernelSettings(8, bptt, clip, adam, 0.9, 0.999, 1e-8, True)
    nats = np.empty(segments)
    end = train_segments_kernel(state, x, 0, 1, lrs, settings, nats)
    moments = {"m": {n: 0.0 for n in ARRAY_NAMES}, "v": {n: 0.0 for n in ARRAY_NAMES}, "t": 0}
    ref, ref_nats = naive.train_epoch(_arrays(model), x, bptt, lrs, clip, moments if adam else None)
    got = unpack(theta, 8)
    assert end == len(x) - 1
    assert nats.sum() == pytest.approx(ref_nats, rel=1e-10)
    for name in ARRAY_NAMES:
        np.testing.assert_allclose(getattr(got, name), ref[name], atol=1e-9, err_msg=name)


def test_pack_unpack_round_trip(random_model):
    model = random_model(6, seed=2)
    back = unpack(pack(model), 6)
    assert back.to_bin_bytes() == model.to_bin_bytes()


def test_cosine_schedule_starts_at_lr_and_decays_to_zero():
    lrs = cosine_lr(0.01, np.arange(101), 100)
    assert lrs[0] == 0.01 and lrs[50] == pytest.approx(0.005) and lrs[100] == pytest.approx(0.0, abs=1e-18)
    assert np.all(np.diff(lrs) <= 0)


@pytest.mark.parametrize("adam, lr", [(False, 0.01), (True, 0.01)])
def test_a_few_epochs_reduce_bpc(sample_text, adam, lr):
    result = Trainer(sample_text, TrainConfig(hidden=16, bptt=20, epochs=6, lr=lr, adam=adam)).run()
    assert result.epochs_run == 6 and not result.stopped
    assert result.bpc < result.history[0] - 0.5
    assert result.bpc == min(result.history)


def test_reported_bpc_is_the_forward_pass_bpc(sample_text):
    result = Trainer(sample_text, TrainConfig(hidden=12, bptt=25, epochs=3, adam=True)).run()
    assert result.model.dtype == np.float32
    assert result.bpc == pytest.approx(forward(result.model, sample_text).bpc, abs=1e-6)
    assert result.history[result.best_epoch] == result.bpc


def test_same_configuration_gives_identical_bytes(sample_text):
    config = TrainConfig(hidden=10, bptt=16, epochs=3, adam=True, seed=4)
    first = Trainer(sample_text, config).run().model.to_bin_bytes()
    assert Trainer(sample_text, config).run().model.to_bin_bytes() == first
    other_seed = TrainConfig(hidden=10, bptt=16, epochs=3, adam=True, seed=5)
    assert Trainer(sample_text, other_seed).run().model.to_bin_bytes() != first


def test_should_stop_returns_the_best_model_so_far(sample_text):
    trainer = Trainer(sample_text * 4, TrainConfig(hidden=8, bptt=10, epochs=50))
    seen = []
    result = trainer.run(progress=seen.append, should_stop=lambda: len(seen) >= 3)
    assert result.stopped and result.epochs_run < 50
    assert result.model is trainer.best_model
    assert result.bpc == pytest.approx(forward(result.model, sample_text * 4).bpc, abs=1e-6)
    assert [p.chars_done for p in seen] == sorted(p.chars_done for p in seen)


def test_checkpoint_receives_the_best_model_every_n_epochs(sample_text):
    calls = []
    config = TrainConfig(hidden=8, bptt=30, epochs=7, adam=True, checkpoint_every=3)
    Trainer(sample_text, config).run(checkpoint=lambda m, p: calls.append((p.epoch, p.best_bpc, m)))
    assert [c[0] for c in calls] == [3, 6]
    for _, best_bpc, model in calls:
        assert isinstance(model, Model)
        assert forward(model, sample_text).bpc == pytest.approx(best_bpc, abs=1e-6)


def test_init_is_seeded():
    assert init_model(4, 1).to_bin_bytes() == init_model(4, 1).to_bin_bytes()
    assert init_model(4, 1).to_bin_bytes() != init_model(4, 2).to_bin_bytes()


@pytest.mark.parametrize("bad", [dict(hidden=0), dict(bptt=-1), dict(epochs=0), dict(lr=0.0),
                                 dict(lr=float("nan")), dict(clip=-1.0), dict(checkpoint_every=-2)])
def test_bad_configuration_is_one_sentence(bad):
    with pytest.raises(FactormapError) as err:
        TrainConfig(**bad)
    assert "\n" not in str(err.value)


_TRAIN_AND_PRINT = """
import hashlib, sys
from factormap.engine.training.trainer import TrainConfig, Trainer
text = open(sys.argv[1], "rb").read()
result = Trainer(text, TrainConfig(hidden=24, epochs=2, adam=True, lr=0.003)).run()
print(hashlib.sha256(result.model.to_bin_bytes()).hexdigest())
"""


def test_fresh_compile_and_numba_cache_train_the_same_bytes(tmp_path, sample_text):
    """The first run of a command compiles the kernels, the next loads them from numba's cache."""
    import os
    import subprocess
    import sys

    text = tmp_path / "t.txt"
    text.write_bytes(sample_text * 4)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    digests = [subprocess.run([sys.executable, "-c", _TRAIN_AND_PRINT, str(text)], env=env, check=True,
                              capture_output=True, text=True).stdout.strip() for _ in range(2)]
    assert len(digests[0]) == 64 and digests[0] == digests[1]
