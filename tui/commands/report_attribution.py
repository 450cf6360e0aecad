"""The ``attribution`` section of ``factormap-tui report``: how far back each prediction looks.

Every prediction is backpropagated exactly ``--K`` offsets (default 64) by
:func:`factormap.engine.attribution.summary.attribution_summary`; the section prints the offset
profile (mean and median ‖g_k‖, their growth, mean |a_k|), the top-10 energy share at k = 0 and
the neurons holding the most gradient energy.
"""

from __future__ import annotations

import argparse

from factormap.engine.attribution.prediction import DEFAULT_K, MAX_K
from factormap.engine.attribution.summary import attribution_summary
from factormap.tui.commands.common import whole_number
from factormap.tui.fields import compact

#: How many neurons the JSON lists and the table shows.
_NEURONS = 20
#: Offsets shown in the table beyond 0..10 (the JSON has every offset).
_FAR_OFFSETS = (12, 16, 24, 32, 48, 64, 96, 128)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The section's option: how many offsets to backpropagate.

    Args:
        parser: the ``report`` parser.
    """
    group = parser.add_argument_group("attribution section")
    group.add_argument("--K", type=whole_number(0, MAX_K), default=DEFAULT_K, dest="attribution_K", metavar="K",
                       help=f"offsets to backpropagate each prediction (default {DEFAULT_K})")


def compute(session, args: argparse.Namespace, progress) -> dict:
    """The summary over every prediction, as JSON-ready figures.

    Args:
        session: the model and text.
        args: parsed ``report`` arguments (``attribution_K``).
        progress: called with the fraction done, or None.

    Returns:
        ``AttributionSummary.to_dict()``: ``growth.mean_ratio``, ``growth.median_ratio``,
        ``grad_norm.mean``, ``input_attr.mean_abs``, ``energy.top10_share_k0``, ``neurons.by_energy``...
    """
    K = getattr(args, "attribution_K", DEFAULT_K)
    return attribution_summary(session, K, progress=progress).to_dict(neurons=_NEURONS)


def _shown_offsets(K: int) -> list[int]:
    return [k for k in range(min(K, 10) + 1)] + [k for k in _FAR_OFFSETS if 10 < k <= K]


def render(data: dict, console) -> None:
    """Print the offset table, the sparsity figures and the neuron ranking.

    Args:
        data: the output of :func:`compute`.
        console: a rich Console.
    """
    from rich.table import Table

    offsets = Table(title=f"Backward attribution over {data['predictions']:,} predictions (offsets 0..{data['max_offset']})")
    for col in ("k", "t ≥ k", "mean ‖g_k‖", "median", "× mean", "× median", "mean |a_k|", "exact"):
        offsets.add_column(col, justify="right")
    norm, growth = data["grad_norm"], data["growth"]
    for k in _shown_offsets(data["max_offset"]):
        offsets.add_row(str(k), f"{data['count'][k]:,}", compact(norm['mean'][k]), compact(norm['median'][k]),
                        compact(growth['mean_ratio'][k]), compact(growth['median_ratio'][k]),
                        compact(data['input_attr']['mean_abs'][k]), compact(data['input_attr_exact']['mean_abs'][k]))
    offsets.caption = ("g_k = ∂ ln p(x_{t+1}) / ∂h_{t−k}, averaged over the predictions with t ≥ k; "
                       "× = growth over k = 0; a_k = g_k·Wx[:, x_{t−k}] (exact: with the tanh′ factor)")
    console.print(offsets)
    sparsity = Table(title="Gradient sparsity", show_header=False)
    sparsity.add_column("quantity", style="bold")
    sparsity.add_column("value", justify="right")
    sparsity.add_row("top-10 energy share at k = 0 (mean over t)", f"{data['energy']['top10_share_k0']:.1%}")
    if data["max_offset"] >= 8:
        sparsity.add_row("growth of mean ‖g_k‖ at k = 8", f"{compact(growth['mean_ratio'][8])}×")
        sparsity.add_row("growth of median ‖g_k‖ at k = 8", f"{compact(growth['median_ratio'][8])}×")
    console.print(sparsity)
    neurons = Table(title="Neurons by gradient energy Σ_t,k g_k,j²")
    for col in ("rank", "neuron", "energy", "share", "cumulative"):
        neurons.add_column(col, justify="right")
    cumulative = 0.0
    for rank, row in enumerate(data["neurons"]["by_energy"], 1):
        share = row["share"] or 0.0
        cumulative += share
        neurons.add_row(str(rank), f"h{row['neuron']}", compact(row['energy']), f"{share:.1%}", f"{cumulative:.1%}")
    console.print(neurons)
