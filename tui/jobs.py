"""The shell's background jobs, run in thread workers: the whole-text pass, thresholds, exports.

Each job takes a ``cancelled`` callable and returns promptly once it is true; results go back to
the app as messages (posting is thread-safe).
"""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from factormap.engine.chaos import chaos
from factormap.engine.errors import Cancelled
from factormap.engine.export import position_arrays
from factormap.engine.output import atomic_write_bytes, release_output, reserve_output
from factormap.engine.session import Session
from factormap.engine.warmup import ChildWarmup, warm_engine, warmed_modules
from factormap.tui.messages import BpcProgress, Exported, KernelsReady, KernelsWarming, TrustFound, WorkProgress

PROGRESS_INTERVAL = 0.1
"""Seconds between two progress reports of a streamed pass (the screen needs no more)."""

HIGH_PERCENTILE = 98.0
"""A position is "high" when its value is at or above this percentile (the top 2%)."""


NOT_WARMED_BY_THE_APP = ("factormap.engine.kernels.training", "factormap.engine.kernels.fastmath",
                         "factormap.engine.kernels.moments")
"""Engine modules left to compile on use: kernels the explorer never calls (the trainer's, and the
element-wise tanh/exp kernels that exist for tests), and the factor map's moments, which only the
dashboard, the inspector and the write-in oracle reach, in their workers (warming them would delay
every first start for a pass that may never run)."""


def warm_kernels(post: Callable, ahead: ChildWarmup | None = None) -> None:
    """Load (or compile) every engine kernel the explorer uses, posting which module is done, then
    KernelsReady. Models load as float32 and the explorer takes no exact path, so only the fast
    float32 kernels are compiled (``exact=False``).

    Follows the engine's warm-up convention (:mod:`factormap.engine.warmup`): with a warm numba
    cache this takes a fraction of a second, with an empty one a few seconds; the modules that
    ``ahead`` compiles in a child process (started by :func:`factormap.tui.launch.launch`) are
    loaded last.
    """
    started = time.perf_counter()
    total = len(warmed_modules(skip=NOT_WARMED_BY_THE_APP))
    done = 0

    def on_module(item) -> None:
        nonlocal done
        done += 1
        post(KernelsWarming(item.module.rsplit(".", 1)[-1], done, total))

    warm_engine(on_module, skip=NOT_WARMED_BY_THE_APP, exact=False, ahead=ahead)
    post(KernelsReady(time.perf_counter() - started))


def find_trust(session: Session, post: Callable, cancelled: Callable[[], bool]) -> None:
    """Compute the trust horizon and the Lyapunov exponent (:func:`factormap.engine.chaos.chaos`)
    and post them as :class:`TrustFound`; nothing is posted when cancelled."""
    try:
        found = chaos(session.model, session.text, should_stop=cancelled)
    except Cancelled:
        return
    post(TrustFound(found.horizon, found.lyapunov, found.positions))


def stream_bpc(session: Session, post: Callable, cancelled: Callable[[], bool]) -> None:
    """Run the forward pass over the whole text, posting the running BPC after every chunk.

    The running figure is the mean of the bits settled so far (``Progress.settled``: a chunk's bits
    are known once its readout has finished, so the figure trails the states by up to one chunk).
    """
    total, known = 0.0, 0
    last_post = 0.0
    for progress in session.run(should_stop=cancelled):
        settled = min(progress.settled, session.n - 1)   # the last byte predicts nothing
        if settled > known:
            total += float(np.sum(session.bits[known:settled], dtype=np.float64))
            known = settled
        complete = progress.settled >= session.n
        now = time.perf_counter()
        if complete or now - last_post >= PROGRESS_INTERVAL:
            last_post = now
            bpc = session.bpc if complete else (total / known if known else math.nan)
            post(BpcProgress(progress.done, session.n, bpc, complete))
        if cancelled():
            return


def high_threshold(values: np.ndarray, positive_only: bool = False) -> float:
    """The :data:`HIGH_PERCENTILE` percentile of the finite values (of the positive ones if asked).

    Returns NaN when no value qualifies.
    """
    finite = values[np.isfinite(values)]
    if positive_only:
        finite = finite[finite > 0]
    if finite.size == 0:
        return math.nan
    k = min(finite.size - 1, int(math.ceil(finite.size * HIGH_PERCENTILE / 100.0)) - 1)
    return float(np.partition(finite, max(k, 0))[max(k, 0)])


def reserve_export_path(model_path: Path, text_path: Path, t: int, folder: Path | None = None,
                        suffixes: tuple[str, ...] = (".npz",)) -> Path:
    """A new file name in ``folder`` (the current directory) built from the model, text and position,
    claimed at once: an empty file is created under every suffix (``O_EXCL``,
    :func:`~factormap.engine.output.reserve_output`), so a second export started before this one is
    written gets another name. :func:`release_export` removes the claims of an export that failed.

    Never the name of an input file and never an existing file: a numeric suffix is added instead.
    The name ends in ``suffixes[0]``; with several suffixes (files written side by side, such as
    .svg and .json) the name is free under every one of them.

    Raises:
        OutputError: the folder cannot take a new file (missing, read-only, not ours to write).
    """
    folder = Path.cwd() if folder is None else folder
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"factormap_{model_path.stem}_{text_path.stem}_t{t}")
    inputs = {p.resolve() for p in (model_path, text_path) if p.exists()}
    name, i = stem, 1
    while True:
        paths = [folder / f"{name}{suffix}" for suffix in suffixes]
        if not any(path.resolve() in inputs for path in paths):
            claimed = []
            for path in paths:
                if not reserve_output(path):
                    break
                claimed.append(path)
            else:
                return paths[0]
            release_export(*claimed)
        name = f"{stem}-{i}"
        i += 1


def release_export(*paths: Path) -> None:
    """Remove the names :func:`reserve_export_path` claimed that were never written (still empty)."""
    for path in paths:
        release_output(path)


def export_view(session: Session, window: tuple[int, int], cursor: int, K: int, path: Path,
                post: Callable, cancelled: Callable[[], bool]) -> None:
    """Write the engine's per-position arrays of ``window`` (plus ``cursor``) to ``path``, a name
    :func:`reserve_export_path` claimed (removed again if the export is cancelled or fails).

    The arrays are :func:`factormap.engine.export.position_arrays`'s, the same as
    ``factormap-tui export`` writes: states, bits, predictions and each position's attribution.
    """
    try:
        arrays = position_arrays(session, *window, K, should_stop=cancelled,
                                 progress=lambda f: post(WorkProgress("export", f)))
        arrays["cursor"] = np.int64(cursor)
        write_npz(path, arrays)
    except Cancelled:
        return
    finally:
        release_export(path)  # the claimed name, if the export stopped or failed before writing it
    post(Exported(path, *window))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an .npz atomically (a temporary file renamed into place)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
