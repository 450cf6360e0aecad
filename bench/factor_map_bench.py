"""Throughput and memory of the streamed factor map on 1 MB (issue 4).

``compute_factor_map(session)`` on the reference text repeated to 1 MB, with the session's forward
pass already done (as in the app), beside a plain numpy reference that holds every state in memory
as float64 and reads each standard feature out of it (covariance, per-value masks). The memory
figures are tracemalloc peaks of each (numpy allocations included): the streamed map keeps only
sums, so its peak should not grow with the text. The map re-runs the recurrence chunk by chunk from
the session's checkpoints, so it is printed beside the forward pass measured in the same run (a
fresh session's whole pass over the same 1 MB; target, issue 19: >= 0.8x its byte rate) and beside
the forward floor on two cores (98,304 flop per byte at the 2-thread GEMM rate). Uses
../shared/reference where present, else a random H = 128 model. Times are medians of
:data:`REPEATS` runs, the forward pass and the map in turn, untraced (tracemalloc slows every
allocation); the peaks come from one more traced run of each.

Where the time goes (CPU per position at H = 128, Zen 4, measured with thread times while the
machine was shared): the recurrence re-run 0.8 us, the moments 0.9-1.1 us (the float64 upper
triangle of ``sum c c^T`` 0.7, the shift and the four features' sums 0.2, the features from the
bytes 0.05). The forward pass does the recurrence and a readout of about the same cost; the map
does the recurrence and the moments, chunk by chunk in two lanes, one per core
(:mod:`factormap.engine.factor_map.lanes`), so on an idle machine both reach about
(recurrence + their second stage) / 2 per position. Its CPU time per position is printed too: it
does not depend on the load as the wall-clock rates do.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc

import numpy as np

import common
from floor import FORWARD_FLOP_PER_BYTE, floor_row, machine_floor
from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.features import standard_features
from factormap.engine.session import Session

MB = 1 << 20


def numpy_factor_map(states: np.ndarray, features: dict[str, np.ndarray]) -> None:
    """The in-memory reference: float64 states, their covariance, and each feature's readouts."""
    S = np.asarray(states, np.float64)
    centred = S - S.mean(axis=0)
    cov = centred.T @ centred / S.shape[0]
    for f in features.values():
        c = centred.T @ (f - f.mean()) / f.size
        np.linalg.lstsq(cov, c, rcond=None)
        means = np.array([S[f == k].mean(axis=0) for k in np.unique(f)])
        np.linalg.svd(means - means.mean(axis=0), full_matrices=False)


def _peak(fn) -> float:
    """tracemalloc peak in MB of one call of ``fn``."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return peak


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process) of one call of ``fn``."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


#: The factor map's least byte rate as a fraction of the forward pass's (issue 19).
FORWARD_FRACTION = 0.8
#: Timed runs of each pass, the two passes in turn so that both see the same load; medians printed.
REPEATS = 3


def main() -> None:
    floor = machine_floor()
    model, base = common.load_inputs()
    print(f"{common.machine()}\n# {floor.describe()}")
    text = (base * (MB // len(base) + 1))[:MB]
    compute_factor_map(Session(model, base))  # numba compile outside the timing
    session = None
    forward, mapped = [], []
    for _ in range(REPEATS):
        fresh = Session(model, text)
        forward.append(_timed(lambda: fresh.ensure(fresh.n)))
        if session is None:
            session = fresh
        else:
            fresh.close()
        mapped.append(_timed(lambda: compute_factor_map(session)))
    took, cpu = (statistics.median(run[k] for run in mapped) for k in (0, 1))
    forward_took, forward_cpu = (statistics.median(run[k] for run in forward) for k in (0, 1))
    peak = _peak(lambda: compute_factor_map(session))
    states = session.states(0, session.n)
    features = standard_features(session.x)
    ref_took = _timed(lambda: numpy_factor_map(states, features))[0]
    ref_peak = _peak(lambda: numpy_factor_map(states, features))
    session.close()
    rate, forward_rate = MB / took / 1e6, MB / forward_took / 1e6
    common.emit(common.Row("factor map, 4 standard features, 1 MB, beside the forward pass", rate, "M pos/s",
                           reference=forward_rate, ratio=rate / forward_rate, target=f">= {FORWARD_FRACTION:g}x",
                           met=rate >= FORWARD_FRACTION * forward_rate))
    common.emit(common.Row("  its CPU time per position, beside the forward's", cpu / MB * 1e6, "us",
                           reference=forward_cpu / MB * 1e6, ratio=forward_cpu / cpu))
    common.emit(floor_row("  the same, of the 2-core forward floor", rate, "M pos/s",
                          floor.flops(2) / FORWARD_FLOP_PER_BYTE / 1e6))
    common.emit(common.Row("  the same, beside numpy", rate, "M pos/s", reference=MB / ref_took / 1e6,
                           ratio=ref_took / took))
    common.emit(common.Row("factor map, peak traced memory, 1 MB", peak, "MB", reference=ref_peak,
                           ratio=ref_peak / peak))


if __name__ == "__main__":
    main()
