"""The ``bpc_breakdown`` section of ``factormap-tui report``: where the bits go, and how sparse the gradient is.

Bits of every prediction grouped by the predicted byte's class, by inside vs outside tags and by its
position in the word (:func:`factormap.engine.factor_map.bpc_breakdown.bpc_breakdown`), the worst predictions,
and the mean share of the readout gradient's energy held by the top-n neurons for every n
(:func:`factormap.engine.attribution.sparsity.gradient_sparsity`). The dashboard draws the same numbers.
"""

from __future__ import annotations

import argparse

from rich.markup import escape

from factormap.engine.factor_map.bpc_breakdown import bpc_breakdown
from factormap.engine.attribution.sparsity import gradient_sparsity
from factormap.tui.fields import compact, fixed, stored

#: The n whose top-n share the table shows (the JSON has every n).
_SHOWN_TOP_N = (1, 2, 5, 10, 20, 50)


def compute(session, args: argparse.Namespace, progress) -> dict:
    """The breakdown and the top-n share curve as JSON-ready figures.

    Args:
        session: the model and text.
        args: parsed ``report`` arguments (none of this section's own).
        progress: called with the fraction done, or None.

    Returns:
        ``{"breakdown": BpcBreakdown.to_dict(), "gradient_sparsity": GradientSparsity.to_dict()}``.
    """
    half = None if progress is None else (lambda f: progress(f / 2))
    rest = None if progress is None else (lambda f: progress(0.5 + f / 2))
    return {"breakdown": bpc_breakdown(session, progress=half).to_dict(),
            "gradient_sparsity": gradient_sparsity(session, progress=rest).to_dict()}


def _group_table(title: str, groups: dict):
    from rich.table import Table

    table = Table(title=title)
    for col in ("group", "predictions", "mean bits", "share of bits", "worst at t"):
        table.add_column(col, justify="right")
    for name, g in groups.items():
        mean = stored(g["mean_bits"])
        share = "–" if g["share"] is None else f"{g['share']:.1%}"
        worst = "–" if g["worst_position"] is None else f"{g['worst_position']:,}"
        table.add_row(escape(name.replace("_", " ")), f"{g['count']:,}", mean, share, worst)
    return table


def render(data: dict, console) -> None:
    """Print the three breakdowns, the worst predictions and the top-n shares.

    Args:
        data: what :func:`compute` returned.
        console: a rich console.
    """
    from rich.table import Table

    b = data["breakdown"]
    console.print(_group_table(f"Bits by class of the predicted byte x_t+1 (BPC {fixed(b['bpc'], 4)})", b["by_class"]))
    console.print(_group_table("Bits inside vs outside tags (of the predicted byte)", b["by_tag"]))
    console.print(_group_table("Bits by the predicted byte's position in its word (0: separator)",
                               b["by_word_position"]))
    sparsity = data["gradient_sparsity"]
    table = Table(title="Top-n share of ‖g_0‖²", caption=f"mean over {sparsity['predictions']:,} predictions")
    table.add_column("n", justify="right")
    table.add_column("share", justify="right")
    for n in _SHOWN_TOP_N:
        if n <= len(sparsity["mean_share"]):
            table.add_row(str(n), f"{sparsity['mean_share'][n - 1]:.1%}")
    console.print(table)
    worst = Table(title="Worst predictions")
    worst.add_column("t", justify="right")
    worst.add_column("bits", justify="right")
    for t, bits in zip(b["worst"]["position"], b["worst"]["bits"]):
        worst.add_row(f"{t:,}", compact(bits))
    console.print(worst)

