"""Rich tables of ``factormap-tui inspect``: extremes with context, histogram, correlations, cost."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from factormap.tui.commands.common import marked_context
from factormap.tui.fields import fixed, stored

_BAR = 30


def _extremes(data: dict, end: str) -> Table:
    title = "highest" if end == "top" else "lowest"
    table = Table(title=f"{data['probe']}: the {len(data[f'{end}_positions'])} {title} positions")
    table.add_column("#", justify="right")
    table.add_column("t", justify="right")
    table.add_column("value", justify="right")
    table.add_column("context‖byte at t‖after", no_wrap=True)
    for i, (t, v, ctx) in enumerate(zip(data[f"{end}_positions"], data[f"{end}_values"], data[f"{end}_contexts"])):
        table.add_row(str(i + 1), f"{t:,}", stored(v, signed=True), marked_context(ctx["before"], ctx["byte"], ctx["after"]))
    return table


def _histogram(data: dict) -> Table:
    edges, counts = data["histogram"]["edges"], data["histogram"]["counts"]
    table = Table(title=f"{data['probe']}: histogram of its values over {data['n']:,} positions")
    table.add_column("bin", justify="right", no_wrap=True)
    table.add_column("positions", justify="right")
    table.add_column("")
    most = max(counts) or 1
    for i, count in enumerate(counts):
        close = "]" if i == len(counts) - 1 else ")"
        table.add_row(f"[{fixed(edges[i], 3, signed=True)}, {fixed(edges[i + 1], 3, signed=True)}{close}", f"{count:,}", "█" * round(_BAR * count / most))
    frac = data["fraction_above"]
    table.caption = (f"mean {stored(data['mean'], signed=True)}, sd {stored(data['sd'])}; "
                     f"{100 * frac['value']:.1f}% of positions at or above {stored(frac['threshold'])}")
    return table


def _summary(data: dict) -> Table:
    table = Table(title=f"{data['probe']}: correlation, gradient energy and causal cost")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for name, r in data["correlation"].items():
        table.add_row(f"r({escape(name)})", stored(r["r"], signed=True))
    g = data["gradient_energy"]
    table.add_row(f"rank by gradient energy among {g['units']} units, over a sample of {g['samples']:,} evenly "
                  f"spaced predictions of the {max(data['n'] - 1, 0):,} (K={g['max_offset']}; report ranks over all)",
                  str(g["rank"]))
    causal = data.get("causal")
    if causal:
        for where, label in (("each_step", "ΔBPC removed at every step"), ("readout", "ΔBPC removed at the readout")):
            c = causal[where]
            table.add_row(label, f"{stored(c['delta_bpc'], signed=True, decimals=4)}  (percentile "
                                 f"{stored(c['percentile'], decimals=0)}, z {stored(c['z'], signed=True)}; null "
                                 f"{stored(c['null_mean'], signed=True, decimals=4)} ± {stored(c['null_sd'])}, "
                                 f"n={c['null_n']})")
        table.add_row("through the recurrence (every step − readout)",
                      stored(causal["through_recurrence"]["delta_bpc"], signed=True, decimals=4))
    return table


def render(data: dict, console) -> None:
    """Print every table of the command.

    Args:
        data: what :func:`factormap.tui.commands.inspect_probe.compute` returned.
        console: a rich console.
    """
    for table in (_extremes(data, "top"), _extremes(data, "bottom"), _histogram(data), _summary(data)):
        console.print(table)
