"""``factormap-tui info MODEL TEXT``: the vital figures of a model on a text."""

from __future__ import annotations

import argparse

from factormap.engine.chaos import Chaos, chaos
from factormap.engine.session import Session
from factormap.tui.commands.common import (
    add_precision_argument,
    load_inputs,
    marked_context,
    one_line,
    print_json,
    whole_number,
)
from factormap.tui.fields import compact, fixed
from factormap.tui.glyphs import byte_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``info``."""
    parser.add_argument("model", help="model file (.bin raw float32, .npz, torch .pt/.pth or .safetensors)")
    parser.add_argument("text", help="text file (any bytes)")
    parser.add_argument("--worst", type=whole_number(0, 10_000), default=10,
                        help="how many worst-predicted positions to list (0..10,000)")
    add_precision_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def chaos_figures(found: Chaos) -> dict:
    """The JSON of the trust horizon and the Lyapunov exponent (:mod:`factormap.engine.chaos`).

    ``trust_horizon.position`` is the first t where ``max_i |h32_t[i] - h64_t[i]|`` exceeds
    ``trust_horizon.tolerance`` (null if it never does over ``positions``);
    ``lyapunov_exponent.nats_per_step`` is the mean log growth of a tangent under diag(1 - h²) Wh.
    """
    return {
        "trust_horizon": {"position": found.horizon, "tolerance": found.tolerance,
                          "max_divergence": found.max_divergence, "positions": found.positions},
        "lyapunov_exponent": {"nats_per_step": found.lyapunov, "positions": found.positions},
    }


def collect(session: Session, worst: int = 10) -> dict:
    """The figures ``info`` prints, keyed by what they are.

    ``precision`` is the float type of the weights and of every figure;
    ``bpc`` is the mean of ``-log2 max(p(x_{t+1}), 1e-8)`` over t = 0..N-2;
    ``wh.spectral_radius`` is max |eigenvalue| of Wh; ``wh.frobenius`` is ||Wh||_F. Each worst
    position's ``context_before``, ``target`` (the byte x_{t+1} it predicted badly) and
    ``context_after`` are byte strings, one character per byte (``str.encode("latin-1")`` gives
    the bytes back), as every command's JSON gives bytes.
    """
    m = session.model
    rows = []
    for t in session.worst_positions(worst):
        before, at, after = session.context(int(t) + 1, before=24, after=8)
        pred_byte, pred_prob = session.predictions(int(t), int(t) + 1)
        rows.append({
            "position": int(t),
            "bits": float(session.bits[t]),
            "target_byte": int(session.x[t + 1]),
            "predicted_byte": int(pred_byte[0]),
            "predicted_prob": float(pred_prob[0]),
            "context_before": before.decode("latin-1"),
            "target": at.decode("latin-1"),
            "context_after": after.decode("latin-1"),
        })
    return {
        "model": {"path": m.source, "hidden_size": m.H, "parameters": m.n_params},
        "precision": str(m.dtype),
        "wh": {"spectral_radius": m.spectral_radius, "frobenius": m.wh_frobenius},
        "text": {"bytes": session.n, "predictions": session.n - 1},
        "bpc": session.bpc,
        **chaos_figures(chaos(m, session.text)),
        "worst_positions": rows,
    }


def run(args: argparse.Namespace) -> int:
    """Print the figures as rich tables or, with ``--json``, as JSON."""
    model, text = load_inputs(args.model, args.text, args.precision)
    session = Session(model, text)
    data = collect(session, args.worst)
    session.close()
    if args.json:
        print_json(data)
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    summary = Table(title=Text(one_line(f"{args.model} on {args.text}")), show_header=False)  # not markup
    summary.add_column("quantity", style="bold")
    summary.add_column("value", justify="right")
    summary.add_row("hidden size H", str(model.H))
    summary.add_row("parameters", f"{model.n_params:,}")
    summary.add_row("spectral radius of Wh", fixed(data['wh']['spectral_radius'], 4))
    summary.add_row("‖Wh‖_F", compact(data['wh']['frobenius']))
    summary.add_row("text bytes", f"{session.n:,}")
    summary.add_row("bits per character", fixed(data['bpc'], 4))
    summary.add_row("precision", data["precision"])
    trust, lyap = data["trust_horizon"], data["lyapunov_exponent"]
    horizon = f"never in {trust['positions']:,}" if trust["position"] is None else f"t = {trust['position']:,}"
    summary.add_row(f"trust horizon (float32 leaves float64 by > {trust['tolerance']:g})", horizon)
    summary.add_row("largest Lyapunov exponent (nats/step)", fixed(lyap['nats_per_step'], 4, signed=True))
    console.print(summary)
    worst = Table(title=f"{len(data['worst_positions'])} worst-predicted positions")
    for col, just in (("t", "right"), ("bits", "right"), ("context‖target‖after", "left"),
                      ("predicted (p)", "left")):
        worst.add_column(col, justify=just)
    for r in data["worst_positions"]:
        ctx = marked_context(r["context_before"], r["target"], r["context_after"])
        pred = f"{byte_label(r['predicted_byte'])} ({compact(r['predicted_prob'])})"
        worst.add_row(str(r["position"]), compact(r["bits"]), ctx, pred)
    console.print(worst)
    return 0
