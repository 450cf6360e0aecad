"""Training throughput: characters per second per epoch of the numba trainer beside a numpy epoch.

The trainer's figure is ``Trainer.run`` over a few epochs of the demo text at H = 128, BPTT 50
(``TrainResult.chars_per_second``: characters trained per second in the training kernels; the
per-epoch scoring by the forward pass is excluded there and shown in its own row). The numpy
reference is ``tests/naive.py``'s ``train_epoch``, the plain float64 epoch the kernels are tested
against (step loops, the readout of a segment as one matrix product), timed on the same text in
the same run, with BLAS held to one thread as the trainer is (on a shared machine BLAS threads
waiting for busy cores slow the reference twenty-fold, which would flatter the ratio). The last
row times training the demo model with the README's settings, scoring included (the issue asks
for a few minutes at most).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads BLAS: see the module docstring

import numpy as np  # noqa: E402
from common import Row, emit, header, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.naive import train_epoch  # noqa: E402

H, BPTT = 128, 50
DEMO_ARGS = dict(epochs=80, lr=0.003, adam=True)
DEMO_BUDGET_S = 180.0


def trainer_rate(text: bytes, adam: bool, epochs: int) -> tuple[float, float]:
    """(training characters per second, wall seconds per epoch including scoring)."""
    from factormap.engine.training.trainer import TrainConfig, Trainer

    Trainer(text[:200], TrainConfig(hidden=H, bptt=BPTT, epochs=1, adam=adam)).run()  # compile
    trainer = Trainer(text, TrainConfig(hidden=H, bptt=BPTT, epochs=epochs, adam=adam))
    t0 = time.perf_counter()
    result = trainer.run()
    return result.chars_per_second, (time.perf_counter() - t0) / epochs


def numpy_rate(text: bytes, adam: bool, repeats: int) -> float:
    """Characters per second of the numpy reference epoch (best of ``repeats``)."""
    from factormap.engine.training.bptt import init_model
    from factormap.engine.model import ARRAY_NAMES

    model = init_model(H, 0)
    arrays = {n: getattr(model, n) for n in ARRAY_NAMES}
    x = np.frombuffer(text, np.uint8)
    segments = -(-(len(x) - 1) // BPTT)
    lrs = np.full(segments, 1e-3)
    best = np.inf
    for _ in range(repeats):
        moments = {"m": dict.fromkeys(ARRAY_NAMES, 0.0), "v": dict.fromkeys(ARRAY_NAMES, 0.0), "t": 0}
        t0 = time.perf_counter()
        train_epoch(arrays, x, BPTT, lrs, 5.0, moments if adam else None)
        best = min(best, time.perf_counter() - t0)
    return (len(x) - 1) / best


def demo_seconds() -> tuple[float, float]:
    """(wall seconds, BPC) of training the demo model with the README's settings."""
    from factormap.engine.training.trainer import TrainConfig, Trainer
    from factormap.tui.demo import demo_paths

    text = demo_paths()[1].read_bytes()
    t0 = time.perf_counter()
    result = Trainer(text, TrainConfig(hidden=H, bptt=BPTT, **DEMO_ARGS)).run()
    return time.perf_counter() - t0, result.bpc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="trainer epochs timed per optimiser")
    parser.add_argument("--repeats", type=int, default=2, help="numpy reference epochs (best is kept)")
    parser.add_argument("--skip-demo", action="store_true", help="do not time the demo command")
    args, _ = parser.parse_known_args()
    from factormap.tui.demo import demo_paths

    text = demo_paths()[1].read_bytes()
    print(f"# {machine()}; text {len(text):,} bytes (the demo), H = {H}, BPTT {BPTT}")
    print(header())
    for adam in (False, True):
        name = "Adam" if adam else "SGD"
        rate, epoch_s = trainer_rate(text, adam, args.epochs)
        ref = numpy_rate(text, adam, args.repeats)
        emit(Row(f"train {name} chars/s per epoch, H={H}", rate, "chars/s", ref, rate / ref))
        emit(Row(f"train {name} epoch incl. forward scoring", epoch_s * 1e3, "ms"))
    if not args.skip_demo:
        seconds, bpc = demo_seconds()
        emit(Row(f"demo model (README settings), BPC {bpc:.4f}", seconds, "s",
                 target=f"<= {DEMO_BUDGET_S:.0f} s", met=seconds <= DEMO_BUDGET_S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
