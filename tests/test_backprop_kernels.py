"""The backprop kernels' matrix products against float64 numpy: every tile shape and what is past the tiles."""

import numpy as np
import pytest
from numba import njit

from factormap.engine.kernels import backprop
from factormap.engine.kernels.block_product import TILE_ROWS
from factormap.engine.kernels.matvec import LANES


@njit(cache=False)
def _block_product(V, W, G):
    backprop.block_product(V, W, G)


@njit(cache=False)
def _add_product(acc, W, v, descending):
    backprop.add_product(acc, W, v, descending)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("R", [1, TILE_ROWS - 1, TILE_ROWS, 2 * TILE_ROWS + 1])
@pytest.mark.parametrize("H", [LANES - 3, 5 * LANES + 8, 128])  # no whole vector; tiles and the rest; tiles only
def test_block_product_is_numpys(rng, dtype, R, H):
    V, W = rng.standard_normal((R, H)).astype(dtype), rng.standard_normal((H, H)).astype(dtype)
    G = np.full((R, H), np.nan, dtype)  # every entry must be written
    _block_product(V, W, G)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(G, V.astype(np.float64) @ W.astype(np.float64), rtol=rtol, atol=rtol * np.sqrt(H))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("H", [LANES - 3, 5 * LANES + 8, 128])
@pytest.mark.parametrize("descending", [False, True])
def test_add_product_is_numpys_in_either_order(rng, dtype, H, descending):
    acc, v = rng.standard_normal(H).astype(dtype), rng.standard_normal(H).astype(dtype)
    W = rng.standard_normal((H, H)).astype(dtype)
    want = acc.astype(np.float64) + W.astype(np.float64).T @ v
    _add_product(acc, W, v, descending)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(acc, want, rtol=rtol, atol=rtol * np.sqrt(H))
