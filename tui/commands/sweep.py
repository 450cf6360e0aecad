"""``factormap-tui sweep MODEL TEXT [edits]``: hundreds of whole-text edits as tasks on a Dask cluster.

Each task is one edit of one model and gives its whole-text ΔBPC (and, for a per-step subtraction,
the residual r), computed by the same engine code as ``report`` (:mod:`factormap.engine.sweep`).
With neither ``--workers`` nor ``--scheduler`` the tasks run on a LocalCluster of one process per
core. ``--out FILE`` (CSV or JSON) is rewritten atomically as tasks finish, and a rerun with the same
file skips the tasks it holds. Ctrl-C cancels what is running and keeps what finished; a task that
fails twice is listed on stderr and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from factormap.tui.commands.common import UsageError, load_inputs, one_line, print_json, whole_number
from factormap.tui.commands.feature_arguments import check_new_names, regex_feature_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``sweep``.

    Args:
        parser: the ``sweep`` parser.
    """
    parser.add_argument("model", help="model file (.bin raw float32, or .npz)")
    parser.add_argument("text", help="text file (any bytes)")
    edits = parser.add_argument_group("edits (each edit of each model is one task)")
    edits.add_argument("--ablate-neurons", metavar="UNITS", default="",
                       help="units set to 0 at every step, one task each: ranges and lists, e.g. 0-127 or 3,5,9-12")
    edits.add_argument("--random-directions", type=whole_number(0), default=0, metavar="N",
                       help="N seeded random directions subtracted at every step (the null control)")
    edits.add_argument("--seed", type=whole_number(0), default=0, metavar="S",
                       help="first seed of the random directions (seeds S..S+N-1, as report's control; default 0)")
    edits.add_argument("--subtract", action="append", default=[], metavar="FEATURE",
                       help="subtract a feature's covariance direction at every step (with its residual r) "
                            "and at the readout only; a standard feature or one of --feature; repeatable")
    edits.add_argument("--feature", action="append", default=[], metavar="NAME=REGEX", type=regex_feature_argument,
                       help="a binary feature of your own (1 where a match of the bytes REGEX covers the "
                            "position), subtracted like --subtract; repeatable")
    edits.add_argument("--models", nargs="+", default=[], metavar="FILE",
                       help="more models (training checkpoints, say): every edit runs on each of them too")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=whole_number(1, 1024), metavar="N",
                       help="worker processes of the local cluster (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--out", metavar="FILE",
                        help="results file (.csv or .json), rewritten as tasks finish; a rerun skips its tasks")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _models(args: argparse.Namespace):
    """The models (MODEL then every --models file), their resolved paths, and the text."""
    from factormap.engine.errors import FactormapError
    from factormap.engine.model import load_model

    model, text = load_inputs(args.model, args.text)
    models, paths = [model], [args.model]
    for path in args.models:
        try:
            models.append(load_model(path))
        except FactormapError as exc:
            raise UsageError(f"--models: {exc}") from None
        paths.append(path)
    return models, [str(Path(p).resolve()) for p in paths], text


def _plan(args: argparse.Namespace, models):
    """The sweep's tasks and the user features' regexes, or a :class:`UsageError`."""
    from factormap.engine.errors import FactormapError
    from factormap.engine.factor_map.features import STANDARD_FEATURES
    from factormap.engine.sweep.plan import parse_units, plan_sweep

    check_new_names(args.feature, "--feature")
    regexes = {feature.name: feature.pattern for feature in args.feature}
    unknown = [f for f in args.subtract if f not in STANDARD_FEATURES and f not in regexes]
    if unknown:
        raise UsageError(f"--subtract: no feature {unknown[0]!r}; the standard ones are "
                         f"{', '.join(STANDARD_FEATURES)}, or define it with --feature NAME=REGEX")
    try:
        units = parse_units(args.ablate_neurons, min(m.H for m in models)) if args.ablate_neurons else ()
        tasks = plan_sweep(len(models), units=units, random_n=args.random_directions, seed=args.seed,
                           subtract=tuple(args.subtract) + tuple(regexes))
    except FactormapError as exc:
        raise UsageError(str(exc)) from None
    return tasks, regexes


def _finished_rows(out: str | None) -> list[dict]:
    """The rows ``--out`` holds already ([] without one); a usage error for a file that is not ours."""
    from factormap.engine.errors import FactormapError
    from factormap.engine.sweep.results import read_rows

    if out is None:
        return []
    if not Path(out).parent.is_dir():  # found now, not when the first task has finished
        raise UsageError(f"{out}: the folder {Path(out).parent} does not exist")
    try:
        return read_rows(out)
    except FactormapError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Plan the sweep, skip what ``--out`` holds, run the rest on the cluster, print the results."""
    from factormap.engine.sweep.cluster import require_distributed
    from factormap.engine.sweep.results import row_key
    from factormap.engine.sweep.task import SweepInputs
    from factormap.tui.commands.sweep_view import SweepProgress, render

    require_distributed()
    models, model_paths, text = _models(args)
    tasks, regexes = _plan(args, models)
    text_path = str(Path(args.text).resolve())
    kept = _finished_rows(args.out)
    done = {row_key(r): r for r in kept}
    todo = [t for t in tasks if (model_paths[t.model], text_path, t.edit) not in done]
    rows = [done[k] for k in ((model_paths[t.model], text_path, t.edit) for t in tasks) if k in done]
    failed: list[dict] = []
    inputs = SweepInputs(uuid.uuid4().hex, tuple(models), text, regexes)
    with SweepProgress(len(tasks), len(rows), quiet=args.json) as progress:
        if todo:
            _run_on_cluster(args, inputs, todo, model_paths, text_path, kept, rows, failed, progress)
    data = {"models": model_paths, "text": text_path, "results_file": None if args.out is None else str(args.out),
            "tasks": len(tasks), "skipped": len(tasks) - len(todo), "finished": len(rows), "rows": rows,
            "failed": failed}
    if args.json:
        print_json(data)
    else:
        render(data)
    for f in failed:
        print(f"factormap-tui: task {f['edit']} of {Path(f['model']).name} failed twice: {one_line(f['error'])}",
              file=sys.stderr)
    return 1 if failed else 0


def _run_on_cluster(args, inputs, todo, model_paths, text_path, kept, rows, failed, progress) -> None:
    """Run ``todo``, adding each outcome to ``rows`` (and the ``--out`` file) or ``failed`` as it comes."""
    from factormap.engine.sweep.cluster import run_sweep, sweep_client
    from factormap.engine.sweep.results import COLUMNS, write_rows

    try:
        with sweep_client(args.workers, args.scheduler) as client:
            progress.started()
            for outcome in run_sweep(client, inputs, todo):
                who = {"model": model_paths[outcome.task.model], "text": text_path, "edit": outcome.task.edit}
                if outcome.error is not None:
                    failed.append({**who, "error": outcome.error})
                    progress.advance(None)
                    continue
                row = {**who, **{c: float(outcome.figures[c]) for c in COLUMNS if c not in who}}
                rows.append(row)
                kept.append(row)
                if args.out is not None:
                    write_rows(args.out, kept)
                progress.advance(row)
    except KeyboardInterrupt:
        where = f", kept in {args.out}" if args.out is not None else ""
        print(f"factormap-tui: stopped: {len(rows)} of {progress.total} tasks finished{where}", file=sys.stderr)
        raise
