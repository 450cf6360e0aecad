"""Session.worst_positions: an exact top-k over blocks, worst first, equal bits by position."""

import numpy as np
import pytest

from factormap.engine import session as session_module
from factormap.engine.session import Session


def reference_worst(bits: np.ndarray, count: int) -> np.ndarray:
    """Sort every position by (-bits, position), NaN last; the first ``count``."""
    key = np.where(np.isnan(bits), -np.inf, bits)
    return np.lexsort((np.arange(bits.size), -key))[:count]


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_blocks_give_the_whole_text_ranking_with_ties_by_position(random_model, monkeypatch, block):
    monkeypatch.setattr(session_module, "_WORST_BLOCK", block)
    s = Session(random_model(8, seed=3), bytes(np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8)))
    s.ensure(s.n)
    rng = np.random.default_rng(2)
    s.bits[:] = rng.choice(np.array([0.5, 1.0, 2.0, 3.0], np.float32), s.bits.size)  # many ties
    s.bits[[5, 77]] = np.nan
    for count in (0, 1, 5, 40, 75, 200, s.bits.size, s.bits.size + 10):
        np.testing.assert_array_equal(s.worst_positions(count), reference_worst(s.bits, count), err_msg=str(count))


def test_a_negative_count_is_refused(random_model):
    s = Session(random_model(4, seed=0), b"some text here")
    with pytest.raises(ValueError, match="count must be 0 or more"):
        s.worst_positions(-1)
