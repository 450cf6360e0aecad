"""The ``interventions`` section of ``factormap-tui report``: what editing a feature direction costs.

Options: ``--band N`` nudged re-runs per sensitivity band (0 for none), ``--band-eps EPS`` their size,
``--random-seeds N`` random directions in the control, ``--nulls N`` random directions in each edit's
matched null (:mod:`factormap.engine.workbench.nulls`; 0 for none).
"""

from __future__ import annotations

import argparse

from rich.markup import escape

from factormap.engine.interventions.analysis import BAND_EPS
from factormap.tui.commands.common import whole_number
from factormap.tui.fields import fixed, stored


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
    group.add_argument("--band", type=whole_number(0), default=8, dest="interventions_band", metavar="N",
                       help="re-runs with nudged directions per sensitivity band (default 8; 0 for none)")
    group.add_argument("--band-eps", type=_eps, default=BAND_EPS, dest="interventions_band_eps", metavar="EPS",
                       help=f"size of each nudge of a direction (default {BAND_EPS:g})")
    group.add_argument("--random-seeds", type=whole_number(1), default=20, dest="interventions_random", metavar="N",
                       help="random directions in the control (default 20)")
    group.add_argument("--nulls", type=whole_number(0), default=20, dest="interventions_nulls", metavar="N",
                       help="random directions in each direction edit's matched null (default 20; 0 for none)")


def compute(session, args: argparse.Namespace, progress) -> dict:
    """The intervention table as JSON-ready figures (``subtract_each_step.word_len.delta_bpc``...).

    Every edit along a direction (subtractions, write-ins) also gets its matched null of
    ``--nulls`` random directions: ``<key>.percentile``, ``<key>.z``, ``<key>.null_mean``,
    ``<key>.null_sd``, ``<key>.null_n``; and each feature its ``through_recurrence.<feature>.delta_bpc``,
    the every-step ΔBPC minus the readout-only one.

    Args:
        session: the model and text.
        args: parsed ``report`` arguments.
        progress: called with the fraction done, or None.
    """
    from factormap.engine.interventions.suite import intervention_suite
    from factormap.engine.workbench.nulls import matched_null, null_edit_of

    nulls = getattr(args, "interventions_nulls", 20)
    suite_share = 0.5 if nulls else 1.0
    part = None if progress is None else (lambda f: progress(suite_share * f))
    suite = intervention_suite(session, band_n=getattr(args, "interventions_band", 8),
                               band_eps=getattr(args, "interventions_band_eps", BAND_EPS),
                               random_n=getattr(args, "interventions_random", 20), progress=part)
    out = suite.to_dict()
    matched = [(row, null_edit_of(row.key)) for row in suite.rows] if nulls else []
    matched = [(row, edit) for row, edit in matched if edit is not None]
    for i, (row, edit) in enumerate(matched):
        part = None if progress is None else (lambda f, i=i: progress(0.5 + 0.5 * (i + f) / len(matched)))
        comparison = matched_null(session, edit, nulls, progress=part).compare(row.delta_bpc)
        out.update({f"{row.key}.{name}": value for name, value in comparison.to_dict().items() if name != "delta_bpc"})
    for row in suite.rows:
        kind, _, feature = row.key.partition(".")
        readout = f"subtract_at_readout.{feature}.delta_bpc"
        if kind == "subtract_each_step" and readout in out:
            out[f"through_recurrence.{feature}.delta_bpc"] = row.delta_bpc - out[readout]
    return out


def _bpc(value) -> str:
    """A ΔBPC as every people's table gives it (:mod:`factormap.tui.fields`): 4 decimals, signed."""
    return stored(value, signed=True, decimals=4)


def render(data: dict, console) -> None:
    """Print the table: intervention, what it edits (and its null percentile and z), ΔBPC, band, residual r.

    Args:
        data: what :func:`compute` returned.
        console: a rich console.
    """
    from rich.table import Table

    table = Table(title=f"Interventions: cost in bits per character (baseline {fixed(data['baseline_bpc'], 4)} BPC)")
    table.add_column("intervention (what it edits)", ratio=1, min_width=24, overflow="fold")  # a long key whole
    for col in ("ΔBPC", "band (min – max)", "residual r"):
        table.add_column(col, justify="right", no_wrap=True)
    for key in data["rows"]:
        band = f"{_bpc(data[f'{key}.band.min'])} – {_bpc(data[f'{key}.band.max'])}"
        null = (f"\n[bold]null: percentile {stored(data[f'{key}.percentile'], decimals=0)}, "
                f"z {stored(data[f'{key}.z'], signed=True)}"
                f" (random {_bpc(data[f'{key}.null_mean'])} ± {stored(data[f'{key}.null_sd'])})[/bold]"
                if f"{key}.percentile" in data else "")
        table.add_row(f"{key}\n[dim]{escape(data[f'{key}.edits'])}[/dim]{null}", _bpc(data[f"{key}.delta_bpc"]),
                      band, stored(data.get(f"{key}.residual.r")))
    table.caption = escape(
        f"band: {data['band.n']} re-runs with every direction nudged by ~{data['band.eps']:g} (edits that feed "
        f"the recurrence are chaotic); random_direction: mean, least and greatest of {data['random_direction.n']} "
        "seeds; null: the edit's ΔBPC among the same edit on random unit directions (percentile, z); residual r: the feature's covariance direction refitted on the edited states")
    console.print(table)
    recurrence = {key.split(".")[1]: value for key, value in data.items() if key.startswith("through_recurrence.")}
    for feature, value in recurrence.items():
        console.print(f"through the recurrence ({escape(feature)}): every-step ΔBPC − readout-only ΔBPC = {_bpc(value)}")
