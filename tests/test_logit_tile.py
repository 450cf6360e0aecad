"""The readout's register tiles: logits of a tile, and the max with its first index, against numpy."""

import numpy as np
import pytest
from numba import njit

from factormap.engine.forward import readout
from factormap.engine.kernels.logit_tile import PANEL, TILE_POSITIONS, max_and_first, panels, tile_logits


@njit
def _tile(Wp, by, states, t0, count, out):
    tile_logits(Wp, by, states, t0, count, out)


@njit
def _max_and_first(row):
    return max_and_first(row)


@pytest.mark.parametrize("H", [1, 5, 128])
def test_a_tile_holds_the_logits_of_its_positions(rng, H):
    WyT = rng.standard_normal((H, 256)).astype(np.float32)
    by = rng.standard_normal(256).astype(np.float32)
    states = rng.uniform(-1, 1, (TILE_POSITIONS + 3, H)).astype(np.float32)
    out = np.full((TILE_POSITIONS, 256), np.nan, np.float32)
    _tile(panels(WyT), by, states, 2, TILE_POSITIONS, out)
    want = states[2:2 + TILE_POSITIONS].astype(np.float64) @ WyT.astype(np.float64) + by
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5 * H)
    whole = out.copy()
    _tile(panels(WyT), by, states, 2, 2, out)  # a short tile: its last row repeated
    np.testing.assert_array_equal(out[:2], whole[:2])
    np.testing.assert_array_equal(out[2:], np.tile(whole[1], (TILE_POSITIONS - 2, 1)))


def test_panels_split_the_logits_in_whole_panels(rng):
    WyT = rng.standard_normal((3, 256)).astype(np.float32)
    got = panels(WyT)
    assert got.shape == (256 // PANEL, 3, PANEL) and got.ctypes.data % 64 == 0
    np.testing.assert_array_equal(got[1, 2], WyT[2, PANEL:2 * PANEL])


@pytest.mark.parametrize("where", [[0], [255], [17, 200], [40, 41, 250], list(range(256))])
def test_max_and_first_gives_the_first_of_equal_maxima(rng, where):
    row = rng.uniform(-5, 5, 256).astype(np.float32)
    row[where] = 7.5
    best, first = _max_and_first(row)
    assert best == np.float32(7.5) and first == where[0]


def test_max_and_first_of_negative_rows(rng):
    row = -rng.uniform(1, 100, 64).astype(np.float32)
    assert _max_and_first(row) == (row.max(), row.argmax())


def test_a_rows_bits_do_not_depend_on_its_place_in_a_tile(random_model, rng):
    """Every row is summed the same way in a whole tile and in a short last one."""
    model = random_model(37, seed=3)
    h = rng.uniform(-1, 1, 37).astype(np.float32)
    n = 2 * TILE_POSITIONS + 1
    states = np.tile(h, (n, 1))
    got = readout(model, states, np.full(n, 65))
    assert np.unique(got.bits).size == 1 and np.unique(got.pred_prob).size == 1
