"""The Dask side of a sweep: a client, the tasks submitted once each, their outcomes as they finish.

Dask (``dask.distributed``) is an optional dependency, the ``cluster`` extra; it is imported only
here and only when a sweep runs, and its absence is one sentence naming the extra
(:class:`MissingExtra`). With no scheduler address the sweep starts a ``LocalCluster`` of worker
processes on this machine, listening on 127.0.0.1 only, without a dashboard.

The inputs (models and text) are scattered to every worker once; each task is submitted with
``retries`` (a task whose worker died, or that raised, is run again), and a task that still fails
is reported as a :class:`TaskOutcome` with its error, never dropped. Stopping the iteration (a
``KeyboardInterrupt``, a ``break``) cancels every task not yet finished.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from factormap.engine.errors import FactormapError
from factormap.engine.sweep.plan import SweepTask
from factormap.engine.sweep.task import SweepInputs, run_directions, run_task

#: Each task is run again this many times when it fails (a worker lost, an exception).
RETRIES = 1


class MissingExtra(FactormapError):
    """Dask is not installed: the sweep needs the ``cluster`` extra."""


def require_distributed():
    """The ``distributed`` module, or :class:`MissingExtra` in one sentence."""
    try:
        import distributed
    except ImportError:
        raise MissingExtra("the sweep runs on Dask, which is not installed: "
                           "pip install 'factormap-tui[cluster]'") from None
    return distributed


def local_workers() -> int:
    """Worker processes of the default LocalCluster: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def _workers_ignore_ctrl_c():
    """Start processes that ignore SIGINT (an ignored signal stays ignored across exec, and Python
    then installs no KeyboardInterrupt handler): Ctrl-C in a terminal reaches the whole process
    group, and the workers, stopped by the sweep's own shutdown, would each print a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def sweep_client(workers: int | None = None, scheduler: str | None = None, *, timeout: float = 20.0):
    """A ``distributed.Client``: of the cluster at ``scheduler`` (e.g. ``tcp://127.0.0.1:8786``), or
    of a new ``LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1 (default
    :func:`local_workers`), closed (and the cluster stopped) on leaving.

    Raises
    ------
    FactormapError
        The scheduler cannot be reached within ``timeout`` seconds.
    """
    distributed = require_distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise FactormapError(f"cannot reach the Dask scheduler at {scheduler} ({exc.__class__.__name__})") from None
        try:
            yield client
        finally:
            client.close()
        return
    # Dask's own log lines are silenced: the sweep reports every failed task itself, and a
    # cluster stopped by Ctrl-C otherwise logs each cancelled task it could not tell the client about.
    with _workers_ignore_ctrl_c():
        cluster = distributed.LocalCluster(n_workers=workers or local_workers(), threads_per_worker=1,
                                           processes=True, host="127.0.0.1", dashboard_address=None,
                                           silence_logs=logging.CRITICAL + 10)
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@dataclass(frozen=True)
class TaskOutcome:
    """A finished task: its figures (:func:`...task.task_figures`), or the error of its last try.

    Attributes
    ----------
    task
        the task.
    figures
        ``delta_bpc``, ``bpc``, ``baseline_bpc``, ``residual_r``, ``seconds``; None on failure.
    error
        one line ``ExceptionName: message`` when every try failed; None on success.
    """

    task: SweepTask
    figures: dict | None
    error: str | None


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def run_sweep(client, inputs: SweepInputs, tasks: list[SweepTask], *, retries: int = RETRIES) -> Iterator[TaskOutcome]:
    """Run ``tasks`` on ``client``'s cluster; yields each task's outcome as it finishes (any order).

    The inputs are scattered to every worker once; the subtractions of a model wait for one task
    that fits its feature directions. Leaving the iteration early cancels what has not finished.
    """
    distributed = require_distributed()
    [data] = client.scatter([inputs], broadcast=True, hash=False)
    directions = {}
    for m in sorted({t.model for t in tasks if t.needs_direction}):
        names = tuple(dict.fromkeys(str(t.target) for t in tasks if t.model == m and t.needs_direction))
        directions[m] = client.submit(run_directions, data, m, names, retries=retries, pure=False,
                                      key=f"factormap-directions-{inputs.token}-{m}")
    futures = {client.submit(run_task, data, task, directions.get(task.model), retries=retries, pure=False,
                             key=f"factormap-task-{inputs.token}-{task.key}"): task for task in tasks}
    try:
        for future in distributed.as_completed(futures):
            task = futures.pop(future)
            if future.status == "finished":
                yield TaskOutcome(task, future.result(), None)
                continue
            try:
                error = future.exception()
            except Exception as exc:  # cancelled by the cluster (a lost scheduler, say): no exception to fetch
                error = exc
            yield TaskOutcome(task, None, _one_line(error))
    finally:
        pending = list(futures) + list(directions.values())
        if pending:
            client.cancel(pending)
        client.cancel([data])
