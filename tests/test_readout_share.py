"""A session's readout shared between the helper and the caller's thread gives the same bits."""

import numpy as np
import pytest

from factormap.engine.chunk_pipeline import ChunkPipeline
from factormap.engine.session import Session


def _bits(model, text, tail, monkeypatch) -> np.ndarray:
    monkeypatch.setattr(ChunkPipeline, "_tail_rows", lambda self, rows: min(tail, rows // 4 * 4))
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
    assert session._tail_rows(4096) == 0
    session._readout_rate, session._recurrence_seconds = 1e-6, 4096 * 0.8e-6
    assert session._tail_rows(4096) == int(4096 * 0.1) // 4 * 4
    session._recurrence_seconds = 1.0
    assert session._tail_rows(4096) == 0
    session.close()
