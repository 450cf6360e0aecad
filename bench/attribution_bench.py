"""Latency of one exact attribution (K = 64, H = 128) and throughput of the whole-text summary (issue 3).

The cursor figure is the median of ``attribution(session, t, 64)`` over many positions of a session
whose forward pass is done (as in the app); the numpy reference is the textbook loop on the same
states (``g = Wh.T @ ((1 - h*h) * g)``, K matrix-vector products). The summary figure is
``attribution_summary(session, 64)`` on 1 KB and on 1 MB (the reference text repeated); its numpy
reference is the same per-prediction loop over every prediction of the 1 KB text (its rate per
prediction does not depend on the length). Targets (issue 8): one attribution <= 100 us and >= 3x
the numpy loop (median; the 95th percentile printed beside it); 1 MB <= 60 s. Uses ../shared/reference where present, else a random H = 128 model.
"""

from __future__ import annotations

import statistics

import numpy as np

import common
from factormap.engine.attribution.prediction import attribution
from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.model import Model
from factormap.engine.session import Session

MB = 1 << 20
K = 64


def numpy_attribution(model: Model, states: np.ndarray, t: int, target: int) -> np.ndarray:
    """The per-prediction reference: g_0 .. g_K by one numpy matrix-vector product per offset."""
    logits = model.Wy @ states[t] + model.by
    p = np.exp(logits - logits.max())
    p /= p.sum()
    onehot = np.zeros(256, p.dtype)
    onehot[target] = 1
    g = model.Wy.T @ (onehot - p)
    grads = [g]
    for k in range(min(K, t)):
        h = states[t - k]
        g = model.Wh.T @ ((1 - h * h) * g)
        grads.append(g)
    return np.array(grads)


def main() -> None:
    """Print the rows."""
    print(common.machine())
    model, text = common.load_inputs()
    session = Session(model, text)
    session.ensure(session.n)
    states = session.states(0, session.n)
    positions = range(K, session.n - 1)
    attribution(session, K)
    engine = [common.times(lambda t=t: attribution(session, t, K), 1, 0)[0] for t in positions]
    ref = [common.times(lambda t=t: numpy_attribution(model, states, t, int(session.x[t + 1])), 1, 0)[0]
           for t in positions]
    ms, ref_ms = statistics.median(engine) * 1e3, statistics.median(ref) * 1e3
    common.emit(common.Row(f"one attribution, K={K}, H={model.H} (median)", ms, "ms", reference=ref_ms,
                           ratio=ref_ms / ms, target="<= 0.1 ms, >= 3x", met=ms <= 0.1 and ref_ms / ms >= 3))
    p95, ref_p95 = common.percentile(engine, 95) * 1e3, common.percentile(ref, 95) * 1e3
    common.emit(common.Row("one attribution, 95th percentile", p95, "ms", reference=ref_p95, ratio=ref_p95 / p95))
    common.emit(common.Row("one attribution, 99th percentile", common.percentile(engine, 99) * 1e3, "ms"))
    per_prediction = sum(ref) / len(ref)
    for label, data, repeat in (("1 KB", text, 5), ("1 MB", (text * (MB // len(text) + 1))[:MB], 1)):
        big = Session(model, data)
        big.ensure(big.n)
        took = common.median_time(lambda big=big: attribution_summary(big, K), repeat)
        reference = per_prediction * (big.n - 1)
        common.emit(common.Row(f"whole-text summary, K={K}, {label}", took, "s", reference=reference,
                               ratio=reference / took, target="< 60 s" if label == "1 MB" else "-",
                               met=took < 60 if label == "1 MB" else None))
        big.close()
    session.close()


if __name__ == "__main__":
    main()
