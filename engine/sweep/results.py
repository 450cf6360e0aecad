"""The rows of a sweep and its ``--out`` file: CSV or JSON, rewritten atomically, read back to resume.

A row is one finished task: ``model`` and ``text`` (resolved paths), ``edit`` (e.g. ``ablate.17``),
``delta_bpc``, ``bpc``, ``baseline_bpc``, ``residual_r`` (NaN but for per-step subtractions) and
``seconds`` (wall time of the task's edited pass on its worker). The file holds only finished tasks;
a rerun with the same file skips the tasks whose (model, text, edit) it holds and keeps every row
it had. A failed task is not written, so a rerun tries it again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from factormap.engine.errors import FactormapError
from factormap.engine.output import atomic_write_bytes

#: The columns of a row, in file order.
COLUMNS = ("model", "text", "edit", "delta_bpc", "bpc", "baseline_bpc", "residual_r", "seconds")
_TEXT_COLUMNS = ("model", "text", "edit")


def row_key(row: dict) -> tuple[str, str, str]:
    """``(model, text, edit)``: what a resumed sweep matches finished tasks by."""
    return row["model"], row["text"], row["edit"]


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise FactormapError(f"{path}: the results file must end in .csv or .json")
    return suffix[1:]


def _number(value) -> float:
    return math.nan if value in (None, "") else float(value)


def read_rows(path: str | os.PathLike) -> list[dict]:
    """The rows of an existing results file, [] when there is none.

    Raises
    ------
    FactormapError
        A file that is not a sweep's results (it is then left as it is).
    """
    path = Path(path)
    kind = _format_of(path)
    if not path.exists():
        return []
    try:
        raw = path.read_text(encoding="utf-8")
        if kind == "json":
            rows = json.loads(raw)["rows"]
        else:
            reader = csv.DictReader(io.StringIO(raw))
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise ValueError("other columns")
            rows = list(reader)
        return [{c: (str(r[c]) if c in _TEXT_COLUMNS else _number(r[c])) for c in COLUMNS} for r in rows]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise FactormapError(f"{path}: not a sweep results file, left as it is ({exc.__class__.__name__})") from None


def _plain(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_rows(path: str | os.PathLike, rows: list[dict]) -> None:
    """Replace ``path`` with ``rows`` at once (a temporary file renamed into place)."""
    path = Path(path)
    if _format_of(path) == "json":
        data = json.dumps({"columns": list(COLUMNS), "rows": [{c: _plain(r[c]) for c in COLUMNS} for r in rows]},
                          indent=1)
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(["" if isinstance(r[c], float) and not math.isfinite(r[c]) else
                             (repr(r[c]) if isinstance(r[c], float) else r[c]) for c in COLUMNS])
        data = buf.getvalue()
    atomic_write_bytes(path, data.encode("utf-8"))


def sorted_by_cost(rows: list[dict]) -> list[dict]:
    """Rows by ΔBPC, the costliest edit first (then by model and edit)."""
    return sorted(rows, key=lambda r: (-r["delta_bpc"], r["model"], r["edit"]))
