"""Shared helpers of the ``bench/*_bench.py`` scripts: one row format, timing, the machine.

Every script prints its figures as :class:`Row` lines through :func:`emit`; ``bench/run`` runs all
the scripts and prints every row again in one table (``--markdown`` for the README). A script is a
plain program (``python bench/forward_bench.py`` works alone); it imports this module as ``common``
because Python puts the script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

#: ``bench/run`` sets this to a file; every emitted row is appended to it as one JSON line.
ROWS_FILE_ENV = "FACTORMAP_BENCH_ROWS"
#: The reference model and text, where the project sits beside ``shared/``.
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"



def input_paths() -> tuple[Path, Path]:
    """(model, text) paths: the reference pair where ``shared/`` is beside the project, else the demo."""
    model, text = REFERENCE / "sat_model.bin", REFERENCE / "enwik_1024.txt"
    if model.is_file() and text.is_file():
        return model, text
    from factormap.tui.demo import demo_paths

    return demo_paths()


def load_inputs():
    """(Model, text bytes) of :func:`input_paths`."""
    from factormap.engine.model import load_model

    model, text = input_paths()
    return load_model(model), text.read_bytes()


_WIDTHS = (44, 10, 10, 10, 8, 24, 7)
_HEADS = ("figure", "value", "unit", "reference", "ratio", "target", "met")


@dataclass(frozen=True)
class Row:
    """One benchmark figure beside its reference and its target.

    Attributes:
        name: what was measured, e.g. ``forward + loss, 1 MB, 2 cores``.
        figure: the measured value, in ``unit``.
        unit: e.g. ``M B/s``, ``ms``, ``MB``.
        reference: the same quantity for a reference measured in the same run, or None: the plain
            numpy reference, a bare Textual app, or the machine's floor (:mod:`floor`; the name
            says which).
        ratio: how many times better than the reference (figure / reference for rates,
            reference / figure for times; for a floor, the fraction of it reached), or None.
        target: the issue's target as text, e.g. ``>= 0.9 M/s, >= 3.5x``; ``-`` when there is none.
        met: whether the target is met; None when there is no target.
    """

    name: str
    figure: float
    unit: str
    reference: float | None = None
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None

    def cells(self) -> tuple[str, ...]:
        """The row's values as display strings, in :data:`_HEADS` order."""
        return (self.name, _num(self.figure), self.unit, _num(self.reference),
                "-" if self.ratio is None else f"{self.ratio:.2f}x", self.target,
                "-" if self.met is None else ("met" if self.met else "NOT met"))


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def header() -> str:
    """The column titles, aligned like :func:`line`."""
    return "  ".join(h.ljust(w) for h, w in zip(_HEADS, _WIDTHS)).rstrip()


def line(row: Row) -> str:
    """One aligned text line for ``row``."""
    return "  ".join(c.ljust(w) for c, w in zip(row.cells(), _WIDTHS)).rstrip()


def markdown(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    out = ["| " + " | ".join(_HEADS) + " |", "|" + "---|" * len(_HEADS)]
    out += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(out)


def emit(row: Row) -> None:
    """Print ``row`` and, under ``bench/run``, record it for the summary table."""
    print(line(row), flush=True)
    path = os.environ.get(ROWS_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(row)) + "\n")


def read_rows(path: str | os.PathLike) -> list[Row]:
    """The rows recorded in ``path`` by :func:`emit`."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).exists() else ""
    return [Row(**json.loads(s)) for s in text.splitlines() if s.strip()]


def times(fn: Callable[[], object], repeat: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn`` (after ``warmup`` untimed calls)."""
    return statistics.median(times(fn, repeat, warmup))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values``, linear interpolation."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def machine() -> str:
    """One line naming this machine: CPU model, core count, load average."""
    model = "unknown CPU"
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                model = text_line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, nproc {len(os.sched_getaffinity(0))}, load average {load}"
