"""Where a first run's compile time goes: each kernel the app warms, compiled from an empty cache (issue 19).

The explorer compiles its kernels in two processes on a first run (:mod:`factormap.engine.warmup`):
itself, and a child for :data:`factormap.tui.launch.COMPILED_AHEAD`; the modules of
:data:`~factormap.tui.launch.COMPILED_BY_EITHER` go to whichever is done first (compiled here after
the child's, as ``either``; each goes, in that order, to the share that is done first). Each
share is compiled here the same way, in a fresh process with an empty ``NUMBA_CACHE_DIR``,
pinned to one core: CPU
seconds (``time.thread_time``) of numba's one-time set-up (importing numba and compiling a
trivial function), of each module's ``warm(False)``, and of each engine kernel's compile (numba's
``numba:compile`` events, a kernel's figure including the callees it compiles; one compiled inside
another, ``_target_bits`` in the readout, is listed indented). The larger share, set-up included,
once the ``either`` modules are shared out, bounds what an empty cache adds to the start-up
(``startup_bench.py``: every kernel ready).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import common

SHARE = r"""
import importlib, json, os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
began = time.thread_time()
import numpy as np
from numba import njit
from numba.core import event

njit(lambda a: a[0] * 2.0)(np.zeros(2))
setup = time.thread_time() - began
kernels, open_ = [], []

class Compiles(event.Listener):
    def on_start(self, ev):
        open_.append((ev.data["dispatcher"].py_func, time.thread_time()))

    def on_end(self, ev):
        func, t0 = open_.pop()
        if func.__module__.startswith("factormap.engine"):
            kernels.append((func.__qualname__, time.thread_time() - t0,
                            any(f.__module__.startswith("factormap.engine") for f, _ in open_)))

event.register("numba:compile", Compiles())
modules = {}
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    t0 = time.thread_time()
    module.warm(False)
    modules[name] = time.thread_time() - t0
print(json.dumps({"setup": setup, "modules": modules, "kernels": kernels}))
"""


def compile_share(modules: list[str]) -> dict:
    """CPU seconds of one process compiling ``modules`` from an empty cache (see the module docstring)."""
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", SHARE, *modules], env={**os.environ, "NUMBA_CACHE_DIR": cache},
                             capture_output=True, text=True, check=True, timeout=600).stdout
    return json.loads(out)


def main() -> None:
    """Print a row per module and kernel of each share, then each share's total."""
    from factormap.engine.warmup import warmed_modules
    from factormap.tui.jobs import NOT_WARMED_BY_THE_APP
    from factormap.tui.launch import COMPILED_AHEAD, COMPILED_BY_EITHER

    print(f"# cold compile of the app's kernels, CPU seconds on one core; {common.machine()}")
    print(common.header())
    app = [name for name in warmed_modules(skip=NOT_WARMED_BY_THE_APP)
           if name not in COMPILED_AHEAD and name not in COMPILED_BY_EITHER]
    totals, either = {}, {}
    for who, modules in (("app", app), ("child", [*COMPILED_AHEAD, *COMPILED_BY_EITHER])):
        share = compile_share(modules)
        common.emit(common.Row(f"{who}: numba set-up (import, first compile)", share["setup"], "s"))
        totals[who] = share["setup"]
        for name, seconds in share["modules"].items():
            if name in COMPILED_BY_EITHER:
                either[name] = seconds
            else:
                totals[who] += seconds
            if seconds >= 0.005:
                part = "either" if name in COMPILED_BY_EITHER else who
                common.emit(common.Row(f"{part}: {name.removeprefix('factormap.engine.')}.warm()", seconds, "s"))
        for kernel, seconds, nested in share["kernels"]:
            common.emit(common.Row(f"{who}:   {'  ' if nested else ''}{kernel}", seconds, "s"))
    for who in ("app", "child"):
        common.emit(common.Row(f"{who}: set-up + its own warm()s", totals[who], "s"))
    for name in COMPILED_BY_EITHER:  # in order, each claimed by the process that is done first
        totals[min(("app", "child"), key=totals.get)] += either.get(name, 0.0)
    common.emit(common.Row("larger share (each either module to the one done first)", max(totals.values()), "s"))


if __name__ == "__main__":
    main()
