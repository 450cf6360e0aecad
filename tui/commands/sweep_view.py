"""How ``factormap-tui sweep`` shows itself: a progress bar on stderr, then the table by ΔBPC."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from factormap.engine.sweep.results import sorted_by_cost
from factormap.tui.commands.common import stderr_progress
from factormap.tui.fields import compact, fixed


class SweepProgress:
    """A rich bar over the tasks with the costliest edit so far and the ETA (none when ``quiet`` or
    when stderr is not a terminal).

    Args:
        total: tasks in the sweep.
        done: tasks already finished (skipped on resume).
        quiet: show nothing (``--json``).
    """

    def __init__(self, total: int, done: int, quiet: bool = False) -> None:
        self.total = total
        self._best: dict | None = None
        self._bar = None if quiet else stderr_progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[best]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
        self._task = None if self._bar is None else self._bar.add_task(
            "starting the cluster", total=total, completed=done, best="")

    def __enter__(self) -> SweepProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def started(self) -> None:
        """The cluster is up: the tasks are running."""
        if self._bar is not None:
            self._bar.update(self._task, description="sweep")

    def advance(self, row: dict | None) -> None:
        """One more task finished (``row``), or failed twice (None)."""
        if row is not None and (self._best is None or row["delta_bpc"] > self._best["delta_bpc"]):
            self._best = row
        if self._bar is not None:
            best = "" if self._best is None else f"costliest {self._best['edit']} {fixed(self._best['delta_bpc'], 4, signed=True)}"
            self._bar.update(self._task, advance=1, best=escape(best))


def render(data: dict) -> None:
    """Print the finished tasks, costliest first: edit, (model), ΔBPC, BPC, residual r, seconds.

    Args:
        data: the sweep's JSON-ready figures (``rows``, ``models``, ``results_file``, ``tasks``,
            ``skipped``). The baseline goes in the caption, so the title stays short enough not to wrap.
    """
    many = len(data["models"]) > 1
    baselines = sorted({r["baseline_bpc"] for r in data["rows"]})
    base = f"baseline {fixed(baselines[0], 4)} BPC" if len(baselines) == 1 else f"{len(data['models'])} models"
    table = Table(title=f"Sweep: {data['finished']} of {data['tasks']} tasks, costliest first")
    table.add_column("edit")
    if many:
        table.add_column("model")
    for col in ("ΔBPC", "BPC", "residual r", "s/task"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in sorted_by_cost(data["rows"]):
        cells = [escape(r["edit"])] + ([escape(Path(r["model"]).name)] if many else [])
        table.add_row(*cells, fixed(r["delta_bpc"], 4, signed=True), fixed(r["bpc"], 4), compact(r["residual_r"]),
                      compact(r["seconds"]))
    read_back = (f"; {data['skipped']} task(s) read back from {Path(data['results_file']).name}"
                 if data.get("results_file") else "")
    table.caption = escape(f"{base}{read_back}; residual r: the feature's covariance direction refitted on the "
                           "states edited at every step")
    Console().print(table)
