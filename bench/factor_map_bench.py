"""Throughput and memory of the streamed factor map on 1 MB (issue 4).

``compute_factor_map(session)`` on the reference text repeated to 1 MB, with the session's forward
pass already done (as in the app), beside a plain numpy reference that holds every state in memory
as float64 and reads each standard feature out of it (covariance, per-value masks). The memory
figures are tracemalloc peaks of each (numpy allocations included): the streamed map keeps only
sums, so its peak should not grow with the text. Uses ../shared/reference where present, else a
random H = 128 model.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

import common
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


def _peak(fn) -> tuple[float, float]:
    """(seconds, tracemalloc peak in MB) of one call of ``fn``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    took = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return took, peak


def main() -> None:
    model, base = common.load_inputs()
    print(common.machine())
    text = (base * (MB // len(base) + 1))[:MB]
    session = Session(model, text)
    session.ensure(session.n)
    compute_factor_map(Session(model, base))  # numba compile outside the timing
    took, peak = _peak(lambda: compute_factor_map(session))
    states = session.states(0, session.n)
    features = standard_features(session.x)
    ref_took, ref_peak = _peak(lambda: numpy_factor_map(states, features))
    session.close()
    common.emit(common.Row("factor map, 4 standard features, 1 MB", MB / took / 1e6, "M pos/s",
                           reference=MB / ref_took / 1e6, ratio=ref_took / took))
    common.emit(common.Row("factor map, peak traced memory, 1 MB", peak, "MB", reference=ref_peak,
                           ratio=ref_peak / peak))


if __name__ == "__main__":
    main()
