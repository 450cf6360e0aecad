"""Start-up and quit of ``factormap-tui MODEL TEXT`` as a whole process, beside a bare Textual app (issues 8, 19).

Each run spawns the program in a real 80x24 pseudo-terminal (:mod:`pty_timing`) and times, from
the process's start, the first drawn frame (the text pane's title is on the screen) and "ready"
(the status line shows the final BPC, which the app computes only after it has loaded or compiled
every engine kernel), then ``q`` to the process's end. With a warm numba cache (``factormap-tui
warmup`` run first) and with an empty one (``NUMBA_CACHE_DIR`` pointed at a new folder). The same
is timed for :mod:`bare_app` (Textual alone) in the same run: absolute start-up times do not travel
between machines, the excess over a bare Textual app does. Medians of several starts, the bare app's
and the warm ones turn about. Uses
../shared/reference where present, else the demo.

With an empty cache, ready is bound by numba compiling the app's share of the kernels and the
warm-up child's share at once, one per core (:mod:`factormap.engine.warmup`): the larger of the two
shares, which ``compile_bench.py`` prints kernel by kernel, plus the ~1.3 s before the app's share
starts (the first frame, importing the engine, the explorer).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import common
from pty_timing import BARE_APP, PtyTiming, run_in_pty

WARM_RUNS, COLD_RUNS = 5, 2
#: Targets (issue 19): first frame and quit within these seconds of the bare app's; every kernel
#: ready from an empty cache within this factor of the warm start-up to ready.
FIRST_FRAME_SLACK, QUIT_SLACK, COLD_FACTOR = 0.15, 0.3, 2.0


def medians(runs: list[PtyTiming]) -> PtyTiming:
    """The median of each field over ``runs``."""
    return PtyTiming(*(statistics.median(getattr(r, f) for r in runs) for f in ("first_frame", "ready", "quit")))


def main() -> None:
    """Print the start-up and quit rows."""
    model, text = (str(p) for p in common.input_paths())
    exe = shutil.which("factormap-tui")
    env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TERM": "xterm-256color"}
    print(f"# start-up and quit in an 80x24 pty ({Path(text).name}); {common.machine()}")
    print(common.header())
    subprocess.run([exe, "warmup"], env=env, check=True, capture_output=True)
    bare_runs, warm_runs = [], []
    for _ in range(WARM_RUNS):  # turn about, so that a change of the machine's load moves both alike
        bare_runs.append(run_in_pty(BARE_APP, env))
        warm_runs.append(run_in_pty([exe, model, text], env))
    bare, warm = medians(bare_runs), medians(warm_runs)
    cold_runs = []
    for _ in range(COLD_RUNS):
        with tempfile.TemporaryDirectory() as cache:
            cold_runs.append(run_in_pty([exe, model, text], {**env, "NUMBA_CACHE_DIR": cache}))
    cold = medians(cold_runs)
    ms = 1e3
    common.emit(common.Row(f"bare Textual app, first frame (median of {WARM_RUNS})", bare.first_frame * ms, "ms"))
    common.emit(common.Row("bare Textual app, q to exit", bare.quit * ms, "ms"))
    limit = bare.first_frame + FIRST_FRAME_SLACK
    common.emit(common.Row(f"first frame, warm numba cache (median of {WARM_RUNS})", warm.first_frame * ms, "ms",
                           reference=bare.first_frame * ms, ratio=bare.first_frame / warm.first_frame,
                           target=f"<= bare + {FIRST_FRAME_SLACK * ms:.0f} ms", met=warm.first_frame <= limit))
    common.emit(common.Row("ready (kernels loaded, BPC shown), warm cache", warm.ready * ms, "ms"))
    common.emit(common.Row("q to exit, warm cache", warm.quit * ms, "ms", reference=bare.quit * ms,
                           ratio=bare.quit / warm.quit, target=f"<= bare + {QUIT_SLACK * ms:.0f} ms",
                           met=warm.quit <= bare.quit + QUIT_SLACK))
    common.emit(common.Row(f"first frame, empty numba cache (median of {COLD_RUNS})", cold.first_frame * ms, "ms",
                           reference=bare.first_frame * ms, ratio=bare.first_frame / cold.first_frame))
    common.emit(common.Row("every kernel ready, empty numba cache", cold.ready * ms, "ms", reference=warm.ready * ms,
                           ratio=warm.ready / cold.ready, target=f"<= {COLD_FACTOR:g}x warm ready",
                           met=cold.ready <= COLD_FACTOR * warm.ready))
    common.emit(common.Row("q to exit, empty cache", cold.quit * ms, "ms", reference=bare.quit * ms,
                           ratio=bare.quit / cold.quit))


if __name__ == "__main__":
    main()
