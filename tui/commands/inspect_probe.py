"""``factormap-tui inspect MODEL TEXT (--neuron J | --direction FEATURE)``: where a unit or a
feature direction fires across the whole text, and what removing it costs.

Prints the K highest and lowest positions with their context, the histogram, the fraction of
positions at or above ``--threshold``, the correlation with every feature, the rank by gradient
energy and the causal cost against a matched null (:mod:`factormap.engine.workbench`). ``--json``
prints the same figures under keys naming them (``top_positions``, ``histogram.edges``,
``causal.each_step.percentile``...).
"""

from __future__ import annotations

import argparse

from factormap.tui.commands.common import UsageError, load_inputs, print_json, stderr_progress, whole_number
from factormap.tui.commands.feature_arguments import add_feature_arguments, user_features

#: How many bytes of context a listed position shows on each side.
CONTEXT = (24, 12)


def _finite(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value!r}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``inspect``.

    Args:
        parser: the command's parser.
    """
    parser.add_argument("model", help="model file (.bin raw float32, or .npz)")
    parser.add_argument("text", help="text file (any bytes)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--neuron", type=whole_number(0), metavar="J", help="inspect hidden unit h[J]")
    what.add_argument("--direction", metavar="FEATURE",
                      help="inspect h·u_FEATURE, the feature's covariance direction (standard or --feature)")
    parser.add_argument("--top", type=whole_number(1, 10_000), default=10, metavar="K",
                        help="highest and lowest positions listed (default 10)")
    parser.add_argument("--bins", type=whole_number(1, 1000), default=20, metavar="N", help="histogram bins (default 20)")
    parser.add_argument("--threshold", type=_finite, default=0.0, metavar="X",
                        help="report the fraction of positions with a value at or above X (default 0)")
    parser.add_argument("--nulls", type=whole_number(0, 1000), default=20, metavar="N",
                        help="random directions in the causal cost's matched null (default 20; 0: no causal cost)")
    parser.add_argument("--samples", type=whole_number(1, 100_000), default=256, metavar="S",
                        help="predictions sampled for the gradient-energy rank (default 256)")
    add_feature_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _check(session, args, features) -> None:
    """The unit or feature the arguments name exists (a usage error otherwise, before any pass)."""
    from factormap.engine.factor_map.features import STANDARD_FEATURES

    if args.neuron is not None and args.neuron >= session.H:
        raise UsageError(f"--neuron: unit {args.neuron} does not exist; units are 0..{session.H - 1}")
    if args.direction is not None and args.direction not in (*STANDARD_FEATURES, *features):
        raise UsageError(f"--direction: no feature named {args.direction!r}; the features are "
                         f"{', '.join([*STANDARD_FEATURES, *features])}")


def _probe(session, args, features, progress):
    """The probe the arguments name (a direction needs the factor map of its feature: one pass)."""
    from factormap.engine.factor_map.compute import compute_factor_map
    from factormap.engine.interventions.directions import feature_direction
    from factormap.engine.workbench.probe import Probe

    if args.neuron is not None:
        return Probe.of_neuron(args.neuron, session.H)
    name = args.direction
    given = {name: features[name]} if name in features else None
    fm = compute_factor_map(session, () if given else (name,), extra_features=given, progress=progress)
    return Probe.of_direction(feature_direction(fm, name), f"u_{name}")


def compute(session, args, features: dict, progress) -> dict:
    """Every figure of the command, JSON-ready (contexts as latin-1 strings, one character per byte).

    Args:
        session: the model and text.
        args: parsed arguments.
        features: the user features (:func:`~factormap.tui.commands.feature_arguments.user_features`).
        progress: ``progress(stage, fraction)``, or None.
    """
    from factormap.engine.workbench.causal import causal_cost
    from factormap.engine.workbench.gradient_rank import gradient_rank
    from factormap.engine.workbench.inspect import inspect_probe

    def stage(name):
        return None if progress is None else (lambda f: progress(name, f))

    probe = _probe(session, args, features, stage("direction"))
    ins = inspect_probe(session, probe, top=args.top, bins=args.bins, threshold=args.threshold,
                        features=features, context=CONTEXT, progress=stage("inspect"))
    out = ins.to_dict()
    for end in ("top", "bottom"):
        out[f"{end}_contexts"] = [{"before": b.decode("latin-1"), "byte": x.decode("latin-1"),
                                   "after": a.decode("latin-1")}
                                  for b, x, a in (ins.contexts[int(t)] for t in getattr(ins, f"{end}_positions"))]
    out["gradient_energy"] = gradient_rank(session, probe, samples=args.samples, progress=stage("gradient")).to_dict()
    if args.nulls:
        out["causal"] = causal_cost(session, probe, null_n=args.nulls, progress=stage("causal")).to_dict()
    return out


def run(args: argparse.Namespace) -> int:
    """Inspect, then print tables or JSON."""
    from factormap.engine.session import Session

    model, text = load_inputs(args.model, args.text)
    session = Session(model, text)
    try:
        features = user_features(session, args)
        _check(session, args, features)
        if args.json:
            print_json(compute(session, args, features, None))
            return 0
        with stderr_progress() as bar:
            tasks: dict = {}

            def progress(name: str, fraction: float) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=1.0)
                bar.update(tasks[name], completed=fraction)

            data = compute(session, args, features, progress)
    finally:
        session.close()
    from rich.console import Console

    from factormap.tui.commands.inspect_render import render

    render(data, Console())
    return 0
