"""Latency of one exact attribution (K = 64, H = 128) and the whole-text summary, as fractions of the floor (issues 3, 19).

The cursor figure is the median of ``attribution(session, t, 64)`` over many positions of a session
whose forward pass is done (as in the app); its floor is 2.23 MFLOP (:data:`floor.ATTRIBUTION_FLOP`)
at the machine's 1-thread GEMM rate, target <= 2x the floor. The numpy reference is the textbook
loop on the same states (``g = Wh.T @ ((1 - h*h) * g)``, K matrix-vector products). The summary
figure is ``attribution_summary(session, 64)`` on 1 KB and on 1 MB (the reference text repeated);
its floor is 2.23 MFLOP per prediction at the 2-thread GEMM rate, target >= 0.5 of it on 1 MB; its
numpy reference is the same per-prediction loop over every prediction of the 1 KB text (its rate
per prediction does not depend on the length). Uses ../shared/reference where present, else a
random H = 128 model.

Where the floor is out of reach. One attribution's 64 products ``Wh^T v`` are a chain (each needs
the last), so they are matrix-vector products: every step reads all of ``Wh`` (64 KB of float32 at
H = 128) once, and L1 holds 32 KB, so the chain runs at the rate L2 feeds L1, about 0.62 of the
GEMM floor in one fixed order and 0.8 with the order alternating from step to step (as
``backprop_kernel`` does; measured in :mod:`factormap.engine.kernels.matvec`). That alone puts the
products at about 1.25x the floor (the chain of 64 alone measured 34-36 us, 1.5x, pinned at load
1-2). The rest is one kernel call (``backprop_kernel``: the readout, its 256 exponentials by
``exp_f32`` in float32 models, and every offset's statistics, about 13 us of it at K = 64: 6.7 us
at K = 0, dispatch included) and about 8 us of Python (the states' copy and its reversal into the
kernel's offset order, the result arrays; the frozen dataclass is filled through its ``__dict__``).
Measured pinned in thread time, median over the 960 positions of the reference text: 54-59 us
against a floor of 23.7 us (2.3-2.5x) at load 0.8-2 on 2 cores (AMD EPYC Zen 4, AVX-512); its calls
took 0.89-0.93 of the time of the two-kernel version's, interleaved with them in one process
(paired medians, 4,795 calls each, 4 processes, load 1.3-1.7). The summary is not bound that way: a block of predictions
makes each step a (rows, H) by (H, H) product, whose register tiles reach 0.64-0.84 of the 1-thread
GEMM beside them (``block_product.tile_product``), and its exact medians take one pass
(``streamed_median``), two only when a median leaves its guessed window; it reached 0.38 of the
2-core floor on 1 MB (32.7 s against 12.4 s, idle), held back by the work between two blocks' kernel
calls that runs on one core while the other waits (the medians' bins, the sums over the norms,
the top-10 share, numpy's passes over each block's (K+1, 16,384) arrays).
"""

from __future__ import annotations

import statistics

import numpy as np

import common
from floor import ATTRIBUTION_FLOP, floor_row, machine_floor
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
    floor = machine_floor()
    print(f"{common.machine()}\n# {floor.describe()}")
    model, text = common.load_inputs()
    session = Session(model, text)
    session.ensure(session.n)
    states = session.states(0, session.n)
    positions = range(K, session.n - 1)
    attribution(session, K)
    engine = [common.times(lambda t=t: attribution(session, t, K), 1, 0)[0] for t in positions]
    ref = [common.times(lambda t=t: numpy_attribution(model, states, t, int(session.x[t + 1])), 1, 0)[0]
           for t in positions]
    us, ref_us = statistics.median(engine) * 1e6, statistics.median(ref) * 1e6
    floor_us = ATTRIBUTION_FLOP / floor.flops(1) * 1e6
    common.emit(floor_row(f"one attribution, K={K}, H={model.H} (median), of the floor", us, "us", floor_us,
                          time=True, least=0.5, target="<= 2x floor"))
    common.emit(common.Row("one attribution, beside numpy", us, "us", reference=ref_us, ratio=ref_us / us))
    p95, ref_p95 = common.percentile(engine, 95) * 1e6, common.percentile(ref, 95) * 1e6
    common.emit(common.Row("one attribution, 95th percentile", p95, "us", reference=ref_p95, ratio=ref_p95 / p95))
    common.emit(common.Row("one attribution, 99th percentile", common.percentile(engine, 99) * 1e6, "us"))
    per_prediction = sum(ref) / len(ref)
    for label, data, repeat in (("1 KB", text, 5), ("1 MB", (text * (MB // len(text) + 1))[:MB], 1)):
        big = Session(model, data)
        big.ensure(big.n)
        took = common.median_time(lambda big=big: attribution_summary(big, K), repeat)
        floor_s = (big.n - 1) * ATTRIBUTION_FLOP / floor.flops(2)
        common.emit(floor_row(f"whole-text summary, K={K}, {label}, of the 2-core floor", took, "s", floor_s,
                              time=True, least=0.5 if label == "1 MB" else None))
        reference = per_prediction * (big.n - 1)
        common.emit(common.Row(f"whole-text summary, K={K}, {label}, beside numpy", took, "s", reference=reference,
                               ratio=reference / took))
        big.close()
    session.close()


if __name__ == "__main__":
    main()
