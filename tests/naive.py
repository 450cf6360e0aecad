"""Slow, obviously correct numpy references that every engine kernel is checked against.

Written from the definitions, never from the kernels: float64 throughout, one step at a time.
"""

from __future__ import annotations

import numpy as np

PROB_FLOOR = 1e-8


def forward_states(Wx, Wh, bh, x, h0=None):
    """h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1}), h_{-1} = 0 (or h0); float64, shape (N, H)."""
    Wx, Wh, bh = (np.asarray(a, np.float64) for a in (Wx, Wh, bh))
    h = np.zeros(Wh.shape[0]) if h0 is None else np.asarray(h0, np.float64)
    out = np.empty((len(x), Wh.shape[0]))
    for t, b in enumerate(x):
        h = np.tanh(bh + Wx[:, b] + Wh @ h)
        out[t] = h
    return out


def log_probs(Wy, by, states):
    """ln softmax(Wy @ h_t + by) for each row of ``states``, float64, shape (N, 256)."""
    logits = np.asarray(states, np.float64) @ np.asarray(Wy, np.float64).T + np.asarray(by, np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def bits(Wy, by, states, x):
    """-log2 max(p_t[x_{t+1}], 1e-8) for t = 0..N-2."""
    lp = log_probs(Wy, by, states[:-1])
    p = np.exp(lp[np.arange(len(x) - 1), np.asarray(x[1:])])
    return -np.log2(np.maximum(p, PROB_FLOOR))


def random_model_arrays(H, seed=0, scale=1.0):
    """Random weights of hidden size H, float32, the scale of a trained model's."""
    rng = np.random.default_rng(seed)
    return dict(
        Wx=(rng.normal(0, 1.0, (H, 256)) * scale).astype(np.float32),
        Wh=(rng.normal(0, 1.2 / np.sqrt(H), (H, H)) * scale).astype(np.float32),
        bh=(rng.normal(0, 0.1, H)).astype(np.float32),
        Wy=(rng.normal(0, 1.0, (256, H)) * scale).astype(np.float32),
        by=(rng.normal(0, 0.1, 256)).astype(np.float32),
    )
