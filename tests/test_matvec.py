"""The register-blocked ``W^T v`` of the recurrence against numpy, in both row orders."""

import numpy as np
import pytest
from numba import njit

from factormap.engine.forward import forward
from factormap.engine.kernels.fastmath import VECTOR_FLAGS
from factormap.engine.kernels.matvec import BLOCK, NARROW_BLOCK, add_matvec


@njit(**VECTOR_FLAGS)
def _add_matvec(acc, W, v, descending):
    add_matvec(acc, W, v, descending)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("rows, cols", [(128, 128), (5, 2 * BLOCK + 8), (3, BLOCK - 1), (130, BLOCK),
                                        (4, BLOCK + NARROW_BLOCK + 3), (1, 1)])
def test_add_matvec_matches_numpy(rng, rows, cols, descending):
    W = rng.standard_normal((rows, cols)).astype(np.float32)
    v = rng.standard_normal(rows).astype(np.float32)
    acc = rng.standard_normal(cols).astype(np.float32)
    want = acc + W.T.astype(np.float64) @ v
    _add_matvec(acc, W, v, descending)
    np.testing.assert_allclose(acc, want, atol=2e-6 * np.sqrt(rows) * 4)


def test_the_two_row_orders_round_apart_but_stay_close(rng):
    W = rng.standard_normal((128, 128)).astype(np.float32)
    v = rng.standard_normal(128).astype(np.float32)
    up, down = np.zeros(128, np.float32), np.zeros(128, np.float32)
    _add_matvec(up, W, v, False)
    _add_matvec(down, W, v, True)
    # a few units in the last place of sums of 128 terms near 10 (1 ulp = 1e-6 there)
    assert np.max(np.abs(up - down)) <= 1e-4
    assert not np.array_equal(up, down), "the orders are meant to differ: the test is not testing them"


@pytest.mark.parametrize("offset, exact", [(100, True), (101, False)])
def test_a_continued_run_repeats_the_states_bit_for_bit_from_an_even_offset(random_model, sample_text, offset, exact):
    m = random_model(128, seed=2)
    whole = forward(m, sample_text).states
    second = forward(m, sample_text[offset:], h0=whole[offset - 1]).states
    if exact:
        np.testing.assert_array_equal(second, whole[offset:])
    else:
        np.testing.assert_allclose(second, whole[offset:], atol=1e-4)
