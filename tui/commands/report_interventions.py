"""The ``interventions`` section of ``factormap-tui report``: what editing a feature direction costs.

Options: ``--band N`` nudged re-runs per sensitivity band (0 for none), ``--band-eps EPS`` their size,
``--random-seeds N`` random directions in the control.
"""

from __future__ import annotations

import argparse

from rich.markup import escape

from factormap.engine.interventions.analysis import BAND_EPS


def _count(least: int):
    def parse(value: str) -> int:
        try:
            count = int(value)
        except ValueError:
            count = least - 1
        if count < least:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {least}, got {value!r}")
        return count

    return parse


def _eps(value: str) -> float:
    try:
        eps = float(value)
    except ValueError:
        eps = -1.0
    if not 0 <= eps < 1:
        raise argparse.ArgumentTypeError(f"expected a nudge size in [0, 1), got {value!r}")
    return eps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The section's options.

    Args:
        parser: the ``report`` parser.
    """
    group = parser.add_argument_group("interventions section")
    group.add_argument("--band", type=_count(0), default=8, dest="interventions_band", metavar="N",
                       help="re-runs with nudged directions per sensitivity band (default 8; 0 for none)")
    group.add_argument("--band-eps", type=_eps, default=BAND_EPS, dest="interventions_band_eps", metavar="EPS",
                       help=f"size of each nudge of a direction (default {BAND_EPS:g})")
    group.add_argument("--random-seeds", type=_count(1), default=20, dest="interventions_random", metavar="N",
                       help="random directions in the control (default 20)")


def compute(session, args: argparse.Namespace, progress) -> dict:
    """The intervention table as JSON-ready figures (``subtract_each_step.word_len.delta_bpc``...).

    Args:
        session: the model and text.
        args: parsed ``report`` arguments.
        progress: called with the fraction done, or None.
    """
    from factormap.engine.interventions.suite import intervention_suite

    suite = intervention_suite(session, band_n=getattr(args, "interventions_band", 8),
                               band_eps=getattr(args, "interventions_band_eps", BAND_EPS),
                               random_n=getattr(args, "interventions_random", 20), progress=progress)
    return suite.to_dict()


def _fmt(value, spec: str = "+.3f") -> str:
    return "–" if value is None or value != value else format(value, spec)


def render(data: dict, console) -> None:
    """Print the table: intervention, what it edits, ΔBPC, band, residual r.

    Args:
        data: what :func:`compute` returned.
        console: a rich console.
    """
    from rich.table import Table

    table = Table(title=f"Interventions: cost in bits per character (baseline {data['baseline_bpc']:.4f} BPC)")
    table.add_column("intervention (what it edits)", ratio=1, min_width=24)
    for col in ("ΔBPC", "band (min – max)", "residual r"):
        table.add_column(col, justify="right", no_wrap=True)
    for key in data["rows"]:
        band = f"{_fmt(data[f'{key}.band.min'])} – {_fmt(data[f'{key}.band.max'])}"
        table.add_row(f"{key}\n[dim]{escape(data[f'{key}.edits'])}[/dim]", _fmt(data[f"{key}.delta_bpc"]), band,
                      _fmt(data.get(f"{key}.residual.r"), ".3f"))
    table.caption = escape(
        f"band: {data['band.n']} re-runs with every direction nudged by ~{data['band.eps']:g} (edits that feed "
        f"the recurrence are chaotic); random_direction: mean, least and greatest of {data['random_direction.n']} "
        "seeds; residual r: the feature's covariance direction refitted on the edited states")
    console.print(table)
