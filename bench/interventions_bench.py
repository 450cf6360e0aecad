"""Time to re-run the whole text under one intervention, beside the baseline forward pass.

Prints, for the 1 KB reference text and for 1 MB (the reference text repeated), the baseline
session pass and the whole-text ΔBPC of a per-step edit, a readout-only edit and a weight edit
(the baseline bits already computed, as in the app; each run compiles its edit afresh: nothing is
cached between runs). Target (issue 19): each ΔBPC within 1.1x the baseline pass; each is also
printed as a fraction of the 2-core forward floor (98,304 flop per byte at the 2-thread GEMM rate).
The baseline and each edited run are timed turn about (A/B/A/B...), so that a change of the
machine's load moves both medians alike. On a busy machine the wall-clock time grows with the load;
the CPU time of both threads (recurrence and readout overlap on two cores) is printed beside it, the
edited run's beside the baseline's: the ratio that load does not move much. Runs on the demo model and
text (:func:`common.input_paths`) where ../shared/reference is absent.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

import common
from floor import FORWARD_FLOP_PER_BYTE, floor_row, machine_floor
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import EditWeights, SubtractAtReadout, SubtractEachStep
from factormap.engine.session import Session

MB = 1 << 20
#: Most an edited run's ΔBPC may take, as a multiple of the baseline pass (issue 19).
BASELINE_FACTOR = 1.1


def main() -> None:
    """Print the rows."""
    floor = machine_floor()
    print(f"{common.machine()}\n# {floor.describe()}")
    model, text = common.load_inputs()
    u = np.random.default_rng(1).standard_normal(model.H)
    edits = {"subtract each step": [SubtractEachStep(u)], "subtract at readout": [SubtractAtReadout(u)],
             "edit weights (left)": [EditWeights(u)]}
    for label, data, unit, scale in (("1 KB", text, "ms", 1e3), ("1 MB", (text * (MB // len(text) + 1))[:MB], "s", 1.0)):
        repeat = 60 if len(data) < MB else 3

        def baseline(data=data) -> None:
            Session(model, data).ensure(len(data))

        session = Session(model, data)
        session.ensure(session.n)
        runs = {name: (lambda specs=specs: intervention_delta(session, specs)) for name, specs in edits.items()}
        walls, cpus = alternated({"baseline": baseline, **runs}, repeat)
        base, base_cpu = walls["baseline"] * scale, cpus["baseline"] * scale
        floor_time = len(data) * FORWARD_FLOP_PER_BYTE / floor.flops(2) * scale
        common.emit(floor_row(f"baseline forward pass, {label}, of the 2-core floor", base, unit, floor_time, time=True))
        common.emit(common.Row("  the same, CPU time of both threads", base_cpu, unit))
        for name in edits:
            took, cpu = walls[name] * scale, cpus[name] * scale
            common.emit(common.Row(f"whole-text ΔBPC, {name}, {label}", took, unit, reference=base,
                                   ratio=base / took, target=f"<= {BASELINE_FACTOR:g}x baseline",
                                   met=took <= BASELINE_FACTOR * base))
            common.emit(floor_row("  the same, of the 2-core floor", took, unit, floor_time, time=True))
            common.emit(common.Row("  the same, CPU time of both threads", cpu, unit, reference=base_cpu,
                                   ratio=base_cpu / cpu))
        session.close()


def alternated(runs: dict[str, Callable[[], object]], repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall-clock and median process CPU seconds of each of ``runs``, called in turn
    ``repeat`` times after one untimed round (which loads the kernels from numba's cache)."""
    for run in runs.values():
        run()
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            cpu0, wall0 = time.process_time(), time.perf_counter()
            run()
            walls[name].append(time.perf_counter() - wall0)
            cpus[name].append(time.process_time() - cpu0)
    return ({name: statistics.median(t) for name, t in walls.items()},
            {name: statistics.median(t) for name, t in cpus.items()})

if __name__ == "__main__":
    main()
