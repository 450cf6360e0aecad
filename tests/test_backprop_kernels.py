"""The backprop kernels' matrix products against float64 numpy: every tile shape and what is past the tiles."""

import numpy as np
import pytest
from numba import njit

from factormap.engine.kernels import backprop, block_backprop
from factormap.engine.kernels.block_product import TILE_ROWS
from factormap.engine.kernels.matvec import LANES


@njit(cache=False)
def _block_product(V, W, G):
    block_backprop.block_product(V, W, G)


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


@pytest.mark.parametrize("shape", [(16, 256), (256, 16), (128, 256), (256, 128), (5, 256)])  # the readout's two products
def test_float32_matrix_product_is_numpys_and_each_row_its_own(rng, shape):
    R = 2 * TILE_ROWS + 5
    V, W = rng.standard_normal((R, shape[0])).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    G = block_backprop.matrix_product(V, W)
    np.testing.assert_allclose(G, V.astype(np.float64) @ W.astype(np.float64), rtol=1e-5, atol=1e-5 * np.sqrt(shape[0]))
    # the same bits for a row wherever it falls: in a tile, past them, alone
    parts = [block_backprop.matrix_product(V[a:b], W) for a, b in ((0, 1), (1, TILE_ROWS + 3), (TILE_ROWS + 3, R))]
    np.testing.assert_array_equal(np.concatenate(parts), G)


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spread", [4.0, 400.0])  # logits within exp_f32's range; far past exp(-87)
def test_backprop_kernel_readout_is_a_float64_softmax(rng, dtype, spread):
    """K = 0: the probabilities, top bytes and g_0 against float64 numpy, also where most logits lie
    more than 87 below the largest (exp_f32 stops there, so those are taken by np.exp)."""
    H = 2 * LANES + 5
    h = rng.uniform(-1, 1, (1, H)).astype(dtype)
    Wy = (rng.standard_normal((256, H)) * spread / np.sqrt(H)).astype(dtype)
    by = rng.standard_normal(256).astype(dtype)
    target = 7
    logits = Wy.astype(np.float64) @ h[0].astype(np.float64) + by
    want = np.exp(logits - logits.max())
    want /= want.sum()
    assert spread < 10 or (logits.max() - logits < -87).any() or (logits.max() - logits > 87).any()
    out, stats = np.empty((3, 1, H), dtype), np.empty((4, 1), dtype)
    probs, top, top_probs = np.empty(256, dtype), np.empty(5, np.uint8), np.empty(5, dtype)
    backprop.backprop_kernel(np.zeros((H, H), dtype), np.zeros((256, H), dtype), np.ascontiguousarray(Wy.T), Wy, by,
                             h, np.zeros(1, np.uint8), target, -1, out, stats, probs, top, top_probs)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    tiny = np.finfo(dtype).tiny
    normal = want >= tiny
    # relative to the logits' own rounding (float32 logits of |Wy| |h| ~ 400 are off by ~1e-4 in ln p)
    logit_error = np.finfo(dtype).eps * (np.abs(Wy).astype(np.float64) @ np.abs(h[0]) + np.abs(by)) * 4
    np.testing.assert_allclose(np.log(probs[normal]), np.log(want[normal]), rtol=0, atol=rtol + logit_error.max())
    subnormal_step = np.finfo(dtype).smallest_subnormal  # below exp(-87): exact to the subnormals' step
    np.testing.assert_allclose(probs[~normal], want[~normal], rtol=1e-3, atol=4 * subnormal_step)
    np.testing.assert_array_equal(top, np.argsort(-logits, kind="stable")[:5])
    np.testing.assert_array_equal(top_probs, probs[top])
    residual = -want
    residual[target] += 1
    g0 = Wy.astype(np.float64).T @ residual
    np.testing.assert_allclose(out[0, 0], g0, rtol=rtol, atol=rtol * np.abs(Wy).max())
    assert stats[1, 0] == 1.0
    backprop.backprop_kernel(np.zeros((H, H), dtype), np.zeros((256, H), dtype), np.ascontiguousarray(Wy.T), Wy, by,
                             h, np.zeros(1, np.uint8), target, 3, out, stats, probs, top, top_probs)
    np.testing.assert_array_equal(out[0, 0], (Wy[target].astype(np.float64) - Wy[3]).astype(dtype))
