"""A session's readout shared between the helper and the caller's thread gives the same bits."""

import threading

import numpy as np
import pytest

from factormap.engine.chunk_pipeline import ChunkPipeline
from factormap.engine.session import Session


def _bits(model, text, tail, monkeypatch) -> np.ndarray:
    monkeypatch.setattr(ChunkPipeline, "_tail_rows", lambda self, rows, last: min(tail, rows // 4 * 4))
    session = Session(model, text, checkpoint_every=64, chunk=256, full_states_limit=0)
    for _ in session.run():
        pass
    session.close()
    return session.bits.copy()


@pytest.mark.parametrize("tail", [4, 64, 128])
def test_bits_are_bit_identical_however_the_readout_is_shared(random_model, sample_text, tail, monkeypatch):
    model = random_model(37, seed=5)
    text = sample_text * 4
    alone = _bits(model, text, 0, monkeypatch)
    shared = _bits(model, text, tail, monkeypatch)
    assert not np.isnan(shared).any()
    np.testing.assert_array_equal(shared, alone)


def test_the_tail_balances_the_two_stages(random_model, sample_text):
    """Half the readout's excess over the recurrence, in whole groups of rows; none without a rate."""
    session = Session(random_model(8), sample_text)
    assert session._tail_rows(4096, last=False) == 0
    session._readout_rate, session._recurrence_seconds = 1e-6, 4096 * 0.8e-6
    assert session._tail_rows(4096, last=False) == int(4096 * 0.1) // 4 * 4
    session._recurrence_seconds = 1.0
    assert session._tail_rows(4096, last=False) == 0
    assert session._tail_rows(4096, last=True) == 2048, "no recurrence follows the last chunk"
    session.close()


def _helper_readouts(session) -> list:
    """The threads the session's helper readouts run on, as they run (the pool itself ends with
    the pass, so it cannot tell afterwards whether one ran)."""
    threads = []
    helper_readout = session._timed_readout

    def recorded(start, states):
        threads.append(threading.current_thread())
        helper_readout(start, states)

    session._timed_readout = recorded
    return threads


def _run(session) -> np.ndarray:
    for _ in session.run():
        pass
    session.close()
    return session.bits


def test_a_text_of_one_chunk_is_read_out_without_a_helper_thread(random_model, sample_text):
    model = random_model(37, seed=5)
    session = Session(model, sample_text, chunk=len(sample_text))
    helpers = _helper_readouts(session)
    session.ensure(session.n)
    assert helpers == []
    several = Session(model, sample_text, checkpoint_every=64, chunk=128)
    np.testing.assert_array_equal(session.bits, _run(several))


def test_one_core_reads_out_on_the_callers_thread_with_the_same_bits(random_model, sample_text):
    model = random_model(37, seed=5)
    two = Session(model, sample_text * 4, checkpoint_every=64, chunk=256, full_states_limit=0)
    one = Session(model, sample_text * 4, checkpoint_every=64, chunk=256, full_states_limit=0)
    one._one_core = True
    helpers = _helper_readouts(one)
    one.ensure(one.n)
    assert helpers == []
    np.testing.assert_array_equal(one.bits, _run(two))


@pytest.mark.parametrize("keep", [True, False])
def test_an_edited_runs_figures_do_not_depend_on_the_share(random_model, sample_text, rng, keep, monkeypatch):
    from factormap.engine.interventions.run import EditedRun
    from factormap.engine.interventions.specs import SubtractEachStep

    model = random_model(37, seed=5)
    session = Session(model, sample_text * 4, checkpoint_every=64, chunk=256, full_states_limit=0)
    specs = [SubtractEachStep(rng.standard_normal(37))]
    results = []
    for tail in (0, 64):
        monkeypatch.setattr(ChunkPipeline, "_tail_rows", lambda self, rows, last, tail=tail: min(tail, rows // 4 * 4))
        run = EditedRun(session, specs, keep_delta_bits=keep)
        results.append(run.result())
        run.close()
    alone, shared = results
    assert shared.delta_bpc == alone.delta_bpc and alone.delta_bpc != 0.0
    if keep:
        assert not np.isnan(shared.delta_bits).any()
        np.testing.assert_array_equal(shared.delta_bits, alone.delta_bits)
    session.close()


def test_a_long_last_chunk_is_shared_even_before_a_helper_ran(random_model, sample_text):
    model = random_model(37, seed=5)
    text = (sample_text * 20)[:ChunkPipeline.SHARED_LAST_ROWS + 100]
    shared = Session(model, text, checkpoint_every=64, chunk=len(text) + 64)
    helpers = _helper_readouts(shared)
    shared.ensure(shared.n)
    if not shared._one_core:
        assert helpers and threading.current_thread() not in helpers, "one chunk, but long enough to share"
    alone = Session(model, text, checkpoint_every=64, chunk=len(text) + 64)
    alone._one_core = True
    alone.ensure(alone.n)
    np.testing.assert_array_equal(_run(shared), alone.bits)


@pytest.mark.parametrize("edited", [False, True])
def test_a_finished_pass_holds_no_helper_thread(random_model, sample_text, edited):
    # a session (or an edited run) kept after its pass, as the app keeps each toggled
    # intervention's, must not keep its readout thread: one per run would pile up
    from factormap.engine.interventions.run import EditedRun
    from factormap.engine.interventions.specs import SubtractEachStep

    session = Session(random_model(8), (sample_text * 20)[:3000], checkpoint_every=100, chunk=1000)
    pipeline = EditedRun(session, [SubtractEachStep(np.ones(8))]) if edited else session
    pipeline._one_core = False  # the helper starts even where this process has one core
    helpers = _helper_readouts(pipeline)
    for progress in pipeline.run():
        pass
    assert progress.settled == pipeline.n and helpers, "the pass ran without a helper thread"
    for thread in set(helpers):
        thread.join(timeout=10)
    assert not [t.name for t in helpers if t.is_alive()]
    assert np.isfinite(session.bpc)
