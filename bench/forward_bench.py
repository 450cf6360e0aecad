"""Forward pass + per-byte loss throughput over 1 KB, 1 MB and 16 MB, as a fraction of the floor (issues 2, 8, 19).

The engine figure is ``Session(model, text)`` driven to the end with ``run()``: recurrence, readout,
bits, predictions and checkpoints, exactly what the app does. Its floor is the machine's float32
GEMM rate on as many threads as the run has cores (:mod:`floor`) divided by the pass's 98,304 flop
per byte (H = 128); targets (issue 19): >= 0.8 of the 1-core floor on one core, >= 0.75 of the
2-core floor on two. The numpy reference is a plain step loop (``h = tanh(bh + Wx[:, x_t] + Wh @
h)``) with the readout batched per 4096 positions (one BLAS matrix multiply, numpy's log-softmax),
on 1 KB; it is printed beside the 1 KB rows. Each (what, size, cores) is measured in a fresh
subprocess pinned to that many cores; the 16 MB engine run also reports its peak RSS. One-core runs
also print their rate per CPU second, which other processes sharing the core do not change (the
load average printed first tells how busy the machine was); two-core runs print the rate per CPU
second of the busier of the two threads (recurrence in the caller, readout in the helper): what the
pipeline gives when nothing else competes for the cores. Uses ../shared/reference's model and text
where present, else a random H = 128 model.

Where the ceiling is (measured on Zen 4 at load 7-11, 2026-12-02, CPU-timed best-of as in the last
rows, which print both stages alone):

- The recurrence (1/3 of the flop) is bound by L1 and L2, not by the FMA units, the tanh or the
  step-to-step dependency. ``bench/matvec_bound.py`` times its product alone (``kernels/matvec.py``,
  accumulators in registers, each output fed to the next as h is) by the size of ``W`` (2026-12-02,
  load 1.4-2.1, two runs of each, AVX-512 / AVX2 code): from 16 or 32 KB (in L1) it runs at
  0.66-0.77 / 0.62-0.76 of the 1-core floor (one load per FMA: no reuse of ``W`` within a step);
  from 64 KB (``WhT`` at H = 128; L1 holds 32 KB) at 0.53-0.55 / 0.46-0.48 in one row order and at
  0.63-0.67 / 0.58-0.67 alternating the order at every step (each step starts on the half of ``WhT``
  the last one left in L1); the recurrence, on the reference model, at 0.61-0.66 / 0.50-0.59. So a
  step costs the L1 rate for half of ``WhT`` plus the L2 rate for the other half (about 0.26 + 0.35
  us: the 32 KB product plus half the 64 KB one-order product, against 0.56-0.62 us measured), and
  0.8 of the floor would need the L2 half to overlap the L1 half, which none of the tries below did.
  Tried (recurrence best-of, A/B in one process, AVX-512): 8 accumulators (BLOCK 128, one block)
  1-3% faster (AVX2: 40-50% slower, spills); even/odd partial sums, no gain (AVX2: 13% slower); the
  tanh replaced by a clip, no gain (AVX2: 6%); software prefetch of the rows 8-64 ahead, 0-30%
  slower (prefetched L2 rows evict the L1 rows still to come); rows ordered so that each cache set's
  L1 rows come before its L2 rows with the L2 rows prefetched early, 16-27% slower; the second half
  of one column block's rows in the same loop as the first half of the next block's (L2 and L1 loads
  interleaved, same sums bit for bit), no gain. A 64-byte aligned ``out`` changes nothing.
- The readout (2/3 of the flop) runs at 0.93-1.02 of the floor (AVX2 code: 0.86-0.93; 2026-12-02,
  load 1.4-1.9, A/B in two processes, against 0.85-0.93 and 0.72-0.80 when the logits were summed
  through memory and the argmax was numba's loop). Its logits are register tiles emitted as LLVM
  IR (``kernels/logit_tile.py``) and run alone at 1.13-1.19 of the floor (OpenBLAS's sgemm is not
  the FMA peak); the max and argmax, the 256 exps and the target's log take 0.09-0.10 us per byte
  more.
- So the two kernels alone give at most 1 / ((1/3) / 0.66 + (2/3) / 0.96) = 0.83 of the floor
  (AVX2 code: 0.81), on one core and, with the readout split so that both threads finish
  together, on two (the recurrence is sequential: one thread runs it all). Measured at load 1.4:
  1 MB on one core 0.70 of the 1-core floor, on two 0.72 of the 2-core floor (0.75 per CPU second
  of the busier thread; the two threads' CPU seconds differ by 3-4%, at 16 MB too). The pass's own
  work (bits, checkpoints, chunk hand-over) is 0.03-0.04 us per byte; the rest of the distance is
  how far a typical call is from the best one on a shared machine: the stages' medians of 60
  calls (0.68 and 0.93 us/B at load 1.4) are what they take inside the pass (0.73 and 0.90).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from common import Row, emit, header, load_inputs, machine
from floor import FORWARD_FLOP_PER_BYTE, floor_row, machine_floor

SIZES = {"1 KB": 1 << 10, "1 MB": 1 << 20, "16 MB": 16 << 20}
REPEATS = {"1 KB": 50, "1 MB": 5, "16 MB": 3}
REFERENCE_REPEATS = 20
#: Least fraction of the floor wanted, by core count (issue 19).
FLOOR_TARGET = {1: 0.8, 2: 0.75}
RSS_LIMIT_MB = 1536
READOUT_CHUNK = 4096


def tile(base: bytes, n: int) -> bytes:
    """``base`` repeated to exactly n bytes."""
    return (base * (n // len(base) + 1))[:n]


def engine_pass(model, text: bytes) -> float:
    """The engine's whole streamed pass; returns the BPC."""
    from factormap.engine.session import Session

    session = Session(model, text)
    for _ in session.run():
        pass
    session.close()
    return float(np.mean(session.bits, dtype=np.float64))


def numpy_pass(model, text: bytes) -> float:
    """The plain numpy reference: a step loop, then a batched readout per chunk; returns the BPC."""
    x = np.frombuffer(text, np.uint8)
    WxT, Wh, bh = model.WxT, model.Wh, model.bh
    WyT, by = model.WyT, model.by
    h = np.zeros(model.H, np.float32)
    bits = np.empty(x.size - 1)
    for c0 in range(0, x.size, READOUT_CHUNK):
        c1 = min(x.size, c0 + READOUT_CHUNK)
        states = np.empty((c1 - c0, model.H), np.float32)
        for t in range(c0, c1):
            h = np.tanh(bh + WxT[x[t]] + Wh @ h)
            states[t - c0] = h
        logits = states @ WyT + by
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        rows = np.arange(min(c1, x.size - 1) - c0)
        bits[c0:c0 + rows.size] = -np.maximum(logp[rows, x[c0 + 1 + rows]], np.log(1e-8)) / np.log(2)
    return float(bits.mean())


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(kind: str, size: str, cores: int, repeat: int) -> dict:
    """Measure one (kind, size) on ``cores`` cores in this process; a JSON-ready dict."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    model, base = load_inputs()
    run = engine_pass if kind == "engine" else numpy_pass
    run(model, tile(base, 4096))
    text = tile(base, SIZES[size])
    base_rss = _rss_mb()
    seconds, cpu_seconds, busier_thread_seconds, bpc = [], [], [], 0.0
    for _ in range(repeat):
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        bpc = run(model, text)
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
        main = time.thread_time() - m0
        busier_thread_seconds.append(max(main, cpu_seconds[-1] - main))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "busier_thread_seconds": busier_thread_seconds,
            "bpc": bpc, "base_rss_mb": base_rss, "peak_rss_mb": peak}


def measure(kind: str, size: str, cores: int, repeat: int) -> dict:
    """:func:`worker` in a fresh subprocess (clean peak RSS, its own core affinity)."""
    cmd = [sys.executable, __file__, "--worker", kind, size, str(cores), str(repeat)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def rate(result: dict, size: str, clock: str = "seconds") -> float:
    """Median throughput in M bytes/s, per wall-clock second or (``cpu_seconds``) per CPU second."""
    return SIZES[size] / statistics.median(result[clock]) / 1e6


def _thread_seconds(call) -> float:
    began = time.thread_time()
    call()
    return time.thread_time() - began


#: Positions and repeats of the kernels' best-of timings.
KERNEL_BLOCK, KERNEL_REPEATS = 4096, 60


def kernel_rows(floor) -> list[Row]:
    """The two stages alone on one core, best of :data:`KERNEL_REPEATS` calls on 4096 positions.

    The fastest call is the one least disturbed by other processes, so on a shared machine these
    say what the kernels can do where the medians above say what a run got. Calls are timed in CPU
    seconds of the thread: at load 10 a readout call (4 ms) is rarely left alone for its whole
    length, and its best wall-clock time came out 1.5-2.2x its best CPU time. Each stage's floor is
    its own flop (recurrence ``2 H^2``, readout ``2 * 256 H`` per position) at the 1-thread rate.
    """
    from factormap.engine.forward import next_targets, readout, recur

    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:1])
    model, base = load_inputs()
    x = np.frombuffer(tile(base, KERNEL_BLOCK), np.uint8)
    states = np.empty((x.size, model.H), model.dtype)
    targets = next_targets(x, 0, x.size)
    rows = []
    for name, flop, call in (("recurrence alone", 2 * model.H ** 2, lambda: recur(model, x, out=states)),
                             ("readout alone", 2 * 256 * model.H, lambda: readout(model, states, targets))):
        call()
        best = min(_thread_seconds(call) for _ in range(KERNEL_REPEATS)) / x.size
        rows.append(floor_row(f"{name}, best of {KERNEL_REPEATS} x {KERNEL_BLOCK}, 1 core, of the floor",
                              best * 1e6, "us/B", flop / floor.flops(1) * 1e6, time=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "SIZE", "CORES", "REPEAT"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES), help="text sizes")
    args = parser.parse_args()
    if args.worker:
        kind, size, cores, repeat = args.worker
        print(json.dumps(worker(kind, size, int(cores), int(repeat))))
        return
    floor = machine_floor()
    print(f"# forward pass + per-byte loss; {machine()}\n# {floor.describe()}", flush=True)
    print(header(), flush=True)
    subprocess.run([sys.executable, "-m", "factormap.tui.cli", "warmup"], check=True, capture_output=True)
    all_cores = min(2, len(os.sched_getaffinity(0)))
    for size in args.sizes:
        for cores in sorted({all_cores, 1}, reverse=True):
            result = measure("engine", size, cores, REPEATS[size])
            figure = rate(result, size)
            floor_rate = floor.flops(cores) / FORWARD_FLOP_PER_BYTE / 1e6
            name = f"forward + loss, {size}, {cores} core{'s' if cores > 1 else ''}, of the floor"
            emit(floor_row(name, figure, "M B/s", floor_rate, least=None if size == "1 KB" else FLOOR_TARGET[cores]))
            if size == "1 KB":
                ref = measure("numpy", size, cores, REFERENCE_REPEATS)
                emit(Row(f"forward + loss, 1 KB, {cores} core{'s' if cores > 1 else ''}, beside numpy", figure,
                         "M B/s", rate(ref, size), figure / rate(ref, size)))
            elif cores == 1:
                cpu = rate(result, size, "cpu_seconds")
                emit(floor_row(f"  the same per CPU second", cpu, "M B/s", floor_rate))
            else:
                busy = rate(result, size, "busier_thread_seconds")
                emit(floor_row("  the same per CPU second of the busier thread", busy, "M B/s", floor_rate))
            if size == "16 MB" and cores == all_cores:
                growth = result["peak_rss_mb"] - result["base_rss_mb"]
                emit(Row(f"peak RSS, 16 MB run ({growth:.0f} MB above start)", result["peak_rss_mb"], "MB",
                         target=f"<= {RSS_LIMIT_MB} MB", met=result["peak_rss_mb"] <= RSS_LIMIT_MB))
    for row in kernel_rows(floor):
        emit(row)


if __name__ == "__main__":
    main()
