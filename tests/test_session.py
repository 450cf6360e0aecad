"""The streaming session: chunks, checkpoints and exact re-runs equal the full pass."""

import threading

import numpy as np
import pytest

from factormap.engine.errors import TextError
from factormap.engine.forward import forward
from factormap.engine.session import Session


def _long_text(sample_text, n=5000):
    return (sample_text * (n // len(sample_text) + 1))[:n]


@pytest.mark.parametrize("full_limit", [0, 1 << 20])
def test_states_equal_full_pass_across_checkpoints(random_model, sample_text, rng, full_limit):
    m = random_model(12, scale=0.5)
    text = _long_text(sample_text)
    full = forward(m, text)
    s = Session(m, text, checkpoint_every=64, chunk=256, full_states_limit=full_limit)
    for _ in range(25):
        t0 = int(rng.integers(0, len(text) - 1))
        t1 = int(rng.integers(t0 + 1, min(len(text), t0 + 400) + 1))
        np.testing.assert_array_equal(s.states(t0, t1), full.states[t0:t1])
    # bits may differ by one float32 ulp: BLAS picks other kernels for other block sizes
    np.testing.assert_allclose(s.bits_range(0, len(text)), full.bits, atol=1e-5)
    assert s.bpc == pytest.approx(full.bpc, abs=1e-7)


def test_run_reports_progress_and_completes(random_model, sample_text):
    text = _long_text(sample_text, 3000)
    s = Session(random_model(8), text, checkpoint_every=100, chunk=1000)
    seen = list(s.run())
    assert [p.done for p in seen] == sorted(p.done for p in seen) and seen[-1].done == 3000
    assert all(p.settled <= p.done for p in seen)
    assert [p.settled == p.total for p in seen].count(True) == 1 and seen[-1].settled == 3000
    assert [p.done == p.total for p in seen].count(True) == 1  # completion once, after settling
    assert s.complete and not np.isnan(s.bits).any()
    np.testing.assert_array_equal(s.predictions(0, s.n)[0], forward(s.model, text).pred_byte)


def test_predictions_of_any_window_match_the_full_pass_and_are_not_stored(random_model, sample_text, rng):
    text = _long_text(sample_text, 5000)
    s = Session(random_model(8), text, checkpoint_every=100, chunk=500, full_states_limit=0)
    full = forward(s.model, text)
    for _ in range(5):
        t0 = int(rng.integers(0, len(text) - 1))
        t1 = int(rng.integers(t0 + 1, min(len(text), t0 + 300) + 1))
        pred_byte, pred_prob = s.predictions(t0, t1)
        assert pred_byte.dtype == np.uint8 and pred_prob.dtype == np.float32
        np.testing.assert_array_equal(pred_byte, full.pred_byte[t0:t1])
        np.testing.assert_allclose(pred_prob, full.pred_prob[t0:t1], rtol=1e-6)
    assert not hasattr(s, "pred_prob") and not hasattr(s, "pred_byte")


def test_run_can_stop_and_resume(random_model, sample_text):
    text = _long_text(sample_text, 3000)
    m = random_model(8)
    s = Session(m, text, checkpoint_every=100, chunk=500)
    steps = iter(range(100))
    list(s.run(should_stop=lambda: next(steps) >= 1))
    assert 0 < s.done < s.n
    list(s.run())
    np.testing.assert_allclose(s.bits, forward(m, text).bits, atol=1e-5)


def test_states_while_a_worker_runs(random_model, sample_text):
    text = _long_text(sample_text, 20000)
    m = random_model(16, scale=0.5)
    full = forward(m, text)
    s = Session(m, text, checkpoint_every=128, chunk=1024, full_states_limit=0)
    worker = threading.Thread(target=lambda: list(s.run()))
    worker.start()
    got = s.states(15000, 15100)
    worker.join()
    np.testing.assert_array_equal(got, full.states[15000:15100])
    np.testing.assert_allclose(s.bits, full.bits, atol=1e-5)


def test_worst_positions_are_the_largest_bits(random_model, sample_text):
    s = Session(random_model(8), sample_text)
    worst = s.worst_positions(5)
    assert list(s.bits[worst]) == sorted(s.bits, reverse=True)[:5]


def test_any_bytes_are_a_text(random_model):
    s = Session(random_model(4), bytes(range(256)) * 3)
    assert np.isfinite(s.bpc)


@pytest.mark.parametrize("text", [b"", b"x"])
def test_too_short_text(random_model, text):
    with pytest.raises(TextError):
        Session(random_model(4), text)


def test_memory_is_bounded_for_large_texts(random_model, sample_text):
    s = Session(random_model(8), _long_text(sample_text, 10000), full_states_limit=1000, checkpoint_every=100)
    assert s._all_states is None
    assert s.checkpoints.shape == (100, 8)


def test_the_loop_may_close_the_session_at_any_progress(random_model, sample_text):
    # progress is yielded outside the advance lock: closing from the loop body must not deadlock
    text = _long_text(sample_text, 3000)

    def close_after(stop_after: int) -> None:
        s = Session(random_model(8), text, checkpoint_every=100, chunk=1000)
        for i, _ in enumerate(s.run()):
            assert s._advance_lock.acquire(blocking=False), "progress was yielded holding the lock"
            s._advance_lock.release()
            if i == stop_after:
                s.close()
                break
        s.close()

    for stop_after in range(4):
        worker = threading.Thread(target=close_after, args=(stop_after,), daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), f"closing after progress {stop_after} deadlocked"

