"""``factormap-tui train TEXT -o MODEL``: fit a model of the engine's format to a text.

Every write is atomic (a temporary file renamed over the target), so the output is always either
the file that was there before or a complete model. Ctrl-C stops training and saves the best model
so far; a second Ctrl-C while saving leaves the previous file untouched. A file that exists before
the run (``-o`` or its ``--npz`` companion) is replaced only with ``--force``: without it, one line
and exit status 2, as ``export -o`` and ``convert -o``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from factormap.tui.commands.common import UsageError, add_force_argument, output_path, print_json, whole_number

COMPILE_NOTE_SECONDS = 2.0
"""Loading the kernels longer than this means they were compiled: say how long it took."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``train``."""
    parser.add_argument("text", help="text file to train on (any bytes)")
    parser.add_argument("-o", "--output", required=True,
                        help="model file to write (.bin, or .npz; refused if it exists, unless --force)")
    add_force_argument(parser)
    parser.add_argument("--hidden", type=whole_number(1), default=128, help="hidden size H (default 128)")
    parser.add_argument("--bptt", type=whole_number(1), default=50, help="truncated-BPTT segment length (default 50)")
    parser.add_argument("--epochs", type=whole_number(1), default=20, help="passes over the text (default 20)")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="peak of the cosine learning rate (default 0.01)")
    parser.add_argument("--clip", type=float, default=5.0, help="largest gradient norm, 0 = off (default 5)")
    parser.add_argument("--adam", action="store_true", help="Adam instead of plain SGD")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="seed of the initial weights (default 0)")
    parser.add_argument("--checkpoint-every", type=whole_number(0), default=0, metavar="N",
                        help="save the best model so far every N epochs (default: only at the end)")
    parser.add_argument("--npz", action="store_true", help="also write the arrays as OUTPUT with suffix .npz")
    parser.add_argument("--json", action="store_true", help="no progress bar; print the result as JSON")


def _targets(args: argparse.Namespace) -> list[Path]:
    """The files to write (``-o``, and its ``.npz`` companion with ``--npz``), each checked by
    :func:`factormap.tui.commands.common.output_path`: never the input text, only where a regular
    file can be written, and not over an existing file without ``--force``. Checkpoints go to the
    same files, so nothing else is written."""
    out = Path(args.output)
    targets = [out] + ([out.with_suffix(".npz")] if args.npz and out.suffix.lower() != ".npz" else [])
    return [output_path(str(path), (args.text,), args.force) for path in targets]


def _save(model, targets: list[Path]) -> None:
    from factormap.engine.model import save_model

    for path in targets:
        save_model(model, path)


def _result_dict(result, targets: list[Path], interrupted: bool) -> dict:
    return {
        "bpc": result.bpc,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "interrupted": interrupted,
        "bpc_history": result.history,
        "train_seconds": result.train_seconds,
        "chars_per_second": result.chars_per_second,
        "written": [str(p) for p in targets],
    }


class _ProgressBar:
    """A rich progress bar over all epochs' characters, showing the epoch and the current BPC."""

    def __init__(self, console, disable: bool) -> None:
        from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self._progress = Progress(
            TextColumn("[bold]training"), BarColumn(), TaskProgressColumn(),
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            TextColumn("BPC {task.fields[bpc]:.4f} (best {task.fields[best]:.4f})"),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=console, disable=disable)
        self._task = None

    def __enter__(self) -> "_ProgressBar":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def update(self, p) -> None:
        """Show a :class:`factormap.engine.training.trainer.TrainProgress`."""
        fields = dict(epoch=p.epoch, epochs=p.epochs, bpc=p.bpc, best=p.best_bpc)
        if self._task is None:
            self._task = self._progress.add_task("train", total=p.chars_total, **fields)
        self._progress.update(self._task, completed=p.chars_done, **fields)


def _load_kernels(console, quiet: bool) -> None:
    """Load the trainer's numba kernels before training, saying so: a first run compiles them (tens
    of seconds), which would otherwise look like a hang and count in the chars/s."""
    import time
    from contextlib import nullcontext

    from factormap.engine import session
    from factormap.engine.kernels import training

    t0 = time.perf_counter()
    with nullcontext() if quiet else console.status(
            "loading the training kernels (a first run compiles them: about 40 s)…", spinner="dots"):
        training.warm()
        session.warm(exact=False)
    seconds = time.perf_counter() - t0
    if seconds > COMPILE_NOTE_SECONDS and not quiet:
        console.print(f"compiled the training kernels in {seconds:.0f} s (later runs load them from the cache)",
                      markup=False, highlight=False)


def run(args: argparse.Namespace) -> int:
    """Train with a progress bar and write the best model; exit status 130 after Ctrl-C."""
    from rich.console import Console

    from factormap.engine.errors import FactormapError
    from factormap.engine.text import load_text
    from factormap.engine.training.trainer import TrainConfig, Trainer

    targets = _targets(args)
    try:
        text = load_text(args.text)
        config = TrainConfig(hidden=args.hidden, bptt=args.bptt, epochs=args.epochs, lr=args.lr,
                             clip=args.clip, adam=args.adam, seed=args.seed,
                             checkpoint_every=args.checkpoint_every)
    except FactormapError as exc:
        raise UsageError(str(exc)) from None
    err = Console(stderr=True)
    _load_kernels(err, quiet=args.json)
    trainer = Trainer(text, config)
    interrupted = False
    with _ProgressBar(err, disable=args.json or not err.is_terminal) as bar:
        try:
            trainer.run(progress=bar.update, checkpoint=lambda model, _: _save(model, targets))
        except KeyboardInterrupt:
            interrupted = True
    result = trainer.result(stopped=interrupted)
    _save(result.model, targets)
    if args.json:
        print_json(_result_dict(result, targets, interrupted))
    else:
        how = "interrupted; saved the best model so far" if interrupted else "done"
        Console().print(f"{how}: BPC {result.bpc:.4f} (epoch {result.best_epoch} of {result.epochs_run}), "
                        f"{result.chars_per_second:,.0f} chars/s (compiling excluded); wrote {', '.join(map(str, targets))}",
                        markup=False, highlight=False, soft_wrap=True)  # a path is never broken at the width
    return 130 if interrupted else 0
