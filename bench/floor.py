"""The machine's own floor: its best float32 GEMM rate, and the vector ISA numba compiles for.

Absolute figures do not travel between machines; fractions of the machine's floor do. The floor is
the best float32 matrix product (``numpy.matmul``, OpenBLAS) over a few shapes, in GFLOP/s, on 1
and on 2 threads, measured in a subprocess pinned to that many cores with ``threadpoolctl``, and
with ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` removed from its environment (a forced core type
or cache size can hold OpenBLAS to another CPU's kernels). Engine figures are turned into flop
rates with the flop counts below and printed as a fraction of the floor for their core count.

``bench/run`` measures the floor once and hands it to every script in :data:`FLOOR_ENV`; a script
run alone measures it itself.

    python bench/floor.py          # print the floor
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

#: ``bench/run`` puts the measured :class:`Floor` here as JSON.
FLOOR_ENV = "FACTORMAP_BENCH_FLOOR"
#: Environment variables that pin OpenBLAS to a core type or cache size, dropped for the floor.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: (m, k, n) of the timed products: the readout's shape over a chunk, and two square ones.
GEMM_SHAPES = ((4096, 128, 256), (1024, 1024, 1024), (2048, 2048, 2048))
GEMM_REPEATS = 9

#: Flop of the forward pass + loss per byte at H = 128: the recurrence's Wh @ h (2 H^2) and the
#: readout's Wy @ h (2 * 256 H); the bias adds, tanh and softmax are not counted.
FORWARD_FLOP_PER_BYTE = 2 * 128 * 128 + 2 * 256 * 128
#: Flop of one attribution at K = 64, H = 128: the readout's logits and g_0 = Wy^T (onehot - p)
#: (2 * 2 * 256 H) and K products with Wh^T (2 H^2 each).
ATTRIBUTION_FLOP = 2 * 2 * 256 * 128 + 64 * 2 * 128 * 128


@dataclass(frozen=True)
class Floor:
    """This machine's floor.

    Attributes:
        gflops: best float32 GEMM GFLOP/s by thread count (keys ``"1"``, ``"2"``).
        isa: the vector ISA of numba's code (``AVX-512``, ``AVX2``, ``SSE``), from the registers a
            vectorised float32 loop compiles to.
        llvm_cpu: the CPU name numba's LLVM targets (``NUMBA_CPU_NAME`` when set, else the host's),
            and whether ``NUMBA_CPU_FEATURES`` sets its features (``bench/run --isa avx2``) or the
            engine turned off the host's 256-bit preference (``-prefer-256-bit``).
        blas: the BLAS library and the core type it chose, per threadpoolctl.
        cpu: the CPU model from /proc/cpuinfo.
    """

    gflops: dict[str, float]
    isa: str
    llvm_cpu: str
    blas: str
    cpu: str

    def flops(self, cores: int) -> float:
        """The floor in flop/s on ``cores`` cores: the best GEMM rate on at most that many threads
        (a 2-core run can do what one core does; on a busy machine the 2-thread product, whose
        threads wait for each other, can measure below the 1-thread one)."""
        return max(v for k, v in self.gflops.items() if int(k) <= max(1, min(cores, 2))) * 1e9

    def describe(self) -> str:
        """One line: CPU, ISA, BLAS and the two GEMM rates."""
        rates = ", ".join(f"{v:.1f} on {k} thread{'s' if k != '1' else ''}" for k, v in self.gflops.items())
        return (f"{self.cpu}; numba vector ISA {self.isa} (LLVM CPU {self.llvm_cpu}); "
                f"{self.blas}, its kernels chosen by the CPU whatever numba targets; "
                f"float32 GEMM floor GFLOP/s: {rates}")


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _numba_isa() -> tuple[str, str]:
    """(ISA, LLVM CPU name) of the code numba generates here for the engine, from a freshly compiled
    loop: the engine's kernels package is imported first, since it sets numba's CPU features
    (:mod:`factormap.engine.kernels.vector_width`)."""
    import numpy as np
    from numba import config, njit

    from factormap.engine.kernels.vector_width import COMPILED_FEATURES, NO_256_BIT_PREFERENCE

    @njit(fastmath=True, cache=False, error_model="numpy")
    def axpy(a, x, y):
        for i in range(y.shape[0]):
            y[i] += a * x[i]

    x = np.ones(64, np.float32)
    axpy(np.float32(2), x, x.copy())
    asm = next(iter(axpy.inspect_asm().values()))
    isa = "AVX-512" if re.search(r"%zmm\d", asm) else "AVX2" if re.search(r"%ymm\d", asm) else "SSE"
    import llvmlite.binding as llvm

    cpu = config.CPU_NAME or llvm.get_host_cpu_name()
    if "NUMBA_CPU_FEATURES" in os.environ:
        return isa, f"{cpu}, features from NUMBA_CPU_FEATURES"
    return isa, f"{cpu}, {NO_256_BIT_PREFERENCE}" if NO_256_BIT_PREFERENCE in COMPILED_FEATURES.split(",") else cpu


def _gemm_worker() -> dict:
    """Measure in this process (already pinned by the caller's environment): the floor as a dict."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(0)
    gflops = {}
    for threads in (1, 2):
        if threads > len(os.sched_getaffinity(0)):
            break
        best = 0.0
        with threadpool_limits(threads, user_api="blas"):
            for m, k, n in GEMM_SHAPES:
                a = rng.standard_normal((m, k), dtype=np.float32)
                b = rng.standard_normal((k, n), dtype=np.float32)
                c = np.empty((m, n), np.float32)
                np.matmul(a, b, out=c)
                for _ in range(GEMM_REPEATS):
                    t0 = time.perf_counter()
                    np.matmul(a, b, out=c)
                    best = max(best, 2 * m * k * n / (time.perf_counter() - t0) / 1e9)
        gflops[str(threads)] = best
    blas = next((i for i in threadpool_info() if i.get("user_api") == "blas"), {})
    isa, llvm_cpu = _numba_isa()
    return asdict(Floor(gflops=gflops, isa=isa, llvm_cpu=llvm_cpu,
                        blas=f"{blas.get('internal_api', '?')} {blas.get('version', '')} ({blas.get('architecture', '?')})",
                        cpu=_cpu_model()))


def measure_floor() -> Floor:
    """Measure the floor in a subprocess without the OpenBLAS overrides, on the first two cores."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    cores = sorted(os.sched_getaffinity(0))[:2]
    code = (f"import os, sys, json; os.sched_setaffinity(0, {cores}); sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            "import floor; print(json.dumps(floor._gemm_worker()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return Floor(**json.loads(out.strip().splitlines()[-1]))


def machine_floor() -> Floor:
    """The floor handed down by ``bench/run`` (:data:`FLOOR_ENV`), else measured now."""
    given = os.environ.get(FLOOR_ENV)
    return Floor(**json.loads(given)) if given else measure_floor()


def floor_row(name: str, figure: float, unit: str, floor_figure: float, *, time: bool = False,
              least: float | None = None, target: str | None = None):
    """A :class:`common.Row` of ``figure`` beside the floor's figure for the same work.

    Args:
        name: what was measured.
        figure: the engine's rate, or with ``time`` its time, in ``unit``.
        unit: the unit of both figures.
        floor_figure: the same work at the floor's flop rate, in ``unit``.
        time: the figures are times (the fraction reached is floor / figure), not rates
            (figure / floor).
        least: the fraction of the floor the target asks for (met when reached); None: no target.
        target: the target as text (default ``>= least of floor``).
    """
    from common import Row

    ratio = floor_figure / figure if time else figure / floor_figure
    if least is None:
        return Row(name, figure, unit, reference=floor_figure, ratio=ratio)
    return Row(name, figure, unit, reference=floor_figure, ratio=ratio, target=target or f">= {least:g} of floor",
               met=ratio >= least)


def floor_rows(floor: Floor) -> list:
    """The floor's own rows: the GEMM rate on each thread count."""
    from common import Row

    return [Row(f"float32 GEMM floor, {k} thread{'s' if k != '1' else ''} ({floor.isa})", v, "GFLOP/s")
            for k, v in floor.gflops.items()]


def to_json(floor: Floor) -> str:
    """``floor`` as the JSON that :data:`FLOOR_ENV` carries."""
    return json.dumps(asdict(floor))


if __name__ == "__main__":
    print(measure_floor().describe())
