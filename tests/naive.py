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


def segment_loss_grad(arrays, x, h0=None):
    """Summed cross-entropy (nats) of the predictions of x[1:] from x[:-1], its gradient by
    backpropagation through time (h0 held constant), and the last state; float64."""
    a = {k: np.asarray(v, np.float64) for k, v in arrays.items()}
    x = np.asarray(x)
    h_prev = np.zeros(a["Wh"].shape[0]) if h0 is None else np.asarray(h0, np.float64)
    states = forward_states(a["Wx"], a["Wh"], a["bh"], x[:-1], h_prev)
    lp = log_probs(a["Wy"], a["by"], states)
    rows = np.arange(len(x) - 1)
    nats = -lp[rows, x[1:]].sum()
    dlogits = np.exp(lp)
    dlogits[rows, x[1:]] -= 1.0
    g = {k: np.zeros_like(v) for k, v in a.items()}
    g["Wy"] = dlogits.T @ states
    g["by"] = dlogits.sum(axis=0)
    dh = np.zeros_like(h_prev)
    for t in range(len(x) - 2, -1, -1):
        da = (dlogits[t] @ a["Wy"] + dh) * (1.0 - states[t] ** 2)
        before = states[t - 1] if t else h_prev
        g["Wh"] += np.outer(da, before)
        g["Wx"][:, x[t]] += da
        g["bh"] += da
        dh = a["Wh"].T @ da
    return nats, g, states[-1]


def train_epoch(arrays, x, bptt, lrs, clip, adam=None):
    """One epoch of truncated BPTT: segments of ``bptt`` predictions from h = 0, the state carried
    across segments, each gradient scaled to norm <= clip, then SGD (or Adam when ``adam`` is a
    dict with arrays m, v and the step count t, updated in place) at rate lrs[k]; float64.
    Returns (new arrays, summed nats)."""
    a = {k: np.array(v, np.float64) for k, v in arrays.items()}
    h, total, s, k = None, 0.0, 0, 0
    while s < len(x) - 1:
        e = min(s + bptt, len(x) - 1)
        nats, g, h = segment_loss_grad(a, x[s:e + 1], h)
        total += nats
        norm = np.sqrt(sum((v ** 2).sum() for v in g.values()))
        scale = clip / norm if 0 < clip < norm else 1.0
        for name in a:
            step = g[name] * scale
            if adam is not None:
                adam["m"][name] = 0.9 * adam["m"][name] + 0.1 * step
                adam["v"][name] = 0.999 * adam["v"][name] + 0.001 * step ** 2
                t = adam["t"] + 1
                m_hat = adam["m"][name] / (1 - 0.9 ** t)
                step = m_hat / (np.sqrt(adam["v"][name] / (1 - 0.999 ** t)) + 1e-8)
            a[name] -= lrs[k] * step
        if adam is not None:
            adam["t"] += 1
        s, k = e, k + 1
    return a, total


def lyapunov_exponent(Wh, states, v0):
    """(1/T) sum_t log ||J_t v_{t-1}||, J_t = diag(1 - h_t^2) Wh, v renormalised each step; float64."""
    Wh, v = np.asarray(Wh, np.float64), np.asarray(v0, np.float64)
    logs = []
    for h in np.asarray(states, np.float64):
        w = (1.0 - h * h) * (Wh @ v)
        logs.append(np.log(np.linalg.norm(w)))
        v = w / np.linalg.norm(w)
    return float(np.mean(logs))


def trust_horizon(h32, h64, tolerance):
    """First t with max_i |h32[t, i] - h64[t, i]| > tolerance, or None."""
    for t in range(len(h64)):
        if np.max(np.abs(np.asarray(h32[t], np.float64) - h64[t])) > tolerance:
            return t
    return None
