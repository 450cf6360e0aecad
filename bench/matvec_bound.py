"""What bounds the recurrence: the step's ``Wh @ h`` from a ``W`` that fits in L1 and from one that does not.

Times ``acc = W^T v`` (:func:`~factormap.engine.kernels.matvec.add_matvec`, the recurrence's own
product) 4096 times in a row, each product's output clipped to [-1, 1] and fed to the next as the
recurrence feeds h (the step-to-step dependency without the tanh), for ``W`` of 32, 64 and 128 rows
of 128 floats (16, 32 and 64 KB; L1 holds 32 KB), in one row order at every step and alternating
the order (what the recurrence does); then the recurrence itself on the reference model. Each
figure is the best of 40 calls in CPU seconds of the thread, pinned to one core, beside the same
flop at the 1-thread GEMM floor (:mod:`floor`). Not part of ``bench/run``; run it alone::

    flock -w 300 /work/coord/bench.lock python bench/matvec_bound.py
"""

from __future__ import annotations

import os
import time

import numpy as np
from common import emit, header, load_inputs, machine
from floor import floor_row, machine_floor
from numba import njit

from factormap.engine.forward import recur
from factormap.engine.kernels import aligned_copy
from factormap.engine.kernels.fastmath import VECTOR_FLAGS
from factormap.engine.kernels.matvec import add_matvec

STEPS, REPEATS = 4096, 40


@njit(**dict(VECTOR_FLAGS, cache=False))
def chained_products(W, v0, alternate, out):
    """``out[t] = clip(W^T out[t-1][:rows], -1, 1)`` from ``v0``, rows descending at odd t with ``alternate``."""
    v = v0
    for t in range(out.shape[0]):
        acc = out[t]
        for i in range(acc.shape[0]):
            acc[i] = 0
        add_matvec(acc, W, v, alternate and t % 2 == 1)
        for i in range(acc.shape[0]):
            acc[i] = min(max(acc[i], np.float32(-1)), np.float32(1))
        v = acc[:v.shape[0]]


def best_seconds(call) -> float:
    """Best of :data:`REPEATS` calls, in CPU seconds of this thread."""
    call()
    best = float("inf")
    for _ in range(REPEATS):
        began = time.thread_time()
        call()
        best = min(best, time.thread_time() - began)
    return best


def main() -> None:
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:1])
    floor = machine_floor()
    print(f"# the recurrence's product by the size of W; {machine()}\n# {floor.describe()}\n{header()}", flush=True)
    rng = np.random.default_rng(0)
    out = np.empty((STEPS, 128), np.float32)
    for rows in (32, 64, 128):
        W = aligned_copy((rng.standard_normal((rows, 128)) * 0.05).astype(np.float32))
        v0 = aligned_copy(rng.uniform(-1, 1, rows).astype(np.float32))
        for alternate in (False, True):
            seconds = best_seconds(lambda: chained_products(W, v0, alternate, out)) / STEPS
            name = f"W^T v, {rows * 512 // 1024} KB W, {'alternating' if alternate else 'one'} order, of floor"
            emit(floor_row(name, seconds * 1e6, "us/step", 2 * rows * 128 / floor.flops(1) * 1e6, time=True))
    model, text = load_inputs()
    x = np.frombuffer((text * (STEPS // len(text) + 1))[:STEPS], np.uint8)
    states = np.empty((STEPS, model.H), model.dtype)
    seconds = best_seconds(lambda: recur(model, x, out=states)) / STEPS
    emit(floor_row(f"recurrence, {model.H ** 2 * 4 // 1024} KB Wh, of floor", seconds * 1e6,
                   "us/step", 2 * model.H ** 2 / floor.flops(1) * 1e6, time=True))


if __name__ == "__main__":
    main()
