"""The ``factor_map`` section of ``factormap-tui report``: what the hidden state says about features.

Options: ``--feature NAME=REGEX`` and ``--feature-file NAME=PATH`` add user features
(:mod:`factormap.tui.commands.feature_arguments`); ``--min-support N`` sets the least count of
positions for a conditional mean.
"""

from __future__ import annotations

import argparse

from rich.markup import escape

from factormap.engine.factor_map.compute import MIN_SUPPORT, compute_factor_map
from factormap.tui.commands.common import whole_number
from factormap.tui.commands.feature_arguments import add_feature_arguments, user_features
from factormap.tui.fields import stored

#: The powers k whose ‖Wh^k v_f‖ the propagation table shows.
_SHOWN_POWERS = (4, 8, 16)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The section's options (user features and the support threshold), checked as they are parsed.

    Args:
        parser: the ``report`` parser.
    """
    group = parser.add_argument_group("factor_map section")
    add_feature_arguments(group)
    group.add_argument("--min-support", type=whole_number(1), default=MIN_SUPPORT, dest="factor_map_min_support",
                       metavar="N", help=f"least positions for a conditional mean (default {MIN_SUPPORT})")


def compute(session, args: argparse.Namespace, progress) -> dict:
    """The factor map as JSON-ready figures under dotted keys (``word_len.cov_direction.r``...).

    Args:
        session: the model and text.
        args: parsed ``report`` arguments (user features, ``--min-support``).
        progress: called with the fraction done, or None.
    """
    min_support = getattr(args, "factor_map_min_support", MIN_SUPPORT)
    fm = compute_factor_map(session, extra_features=user_features(session, args), min_support=min_support,
                            progress=progress)
    return fm.to_dict()


def _fmt(value, decimals: int = 3, *, signed: bool = False) -> str:
    """A figure of a matrix-like table, to ``decimals`` decimals so that columns compare
    (:func:`factormap.tui.fields.fixed`: − minus, no sign on zero); ``–`` where it does not exist."""
    return stored(value, signed=signed, decimals=decimals)


def _superscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _bar(value: float, top: float, width: int = 24) -> str:
    if value is None or value != value or top <= 0:
        return ""
    return "█" * round(width * value / top)


def readout_table(data: dict):
    """One row per feature: best single neuron, covariance and OLS readouts, conditional means, PCA.

    Args:
        data: what :func:`compute` returned.
    """
    from rich.table import Table

    table = Table(title=f"Factor map: features read from h_t ({data['n']:,} positions)")
    for col in ("feature", "best h_j", "r(u_f)", "r(OLS)", "K", "max Δ (k)", "PCA %"):
        table.add_column(col, justify="left" if col in ("feature", "PCA %") else "right", no_wrap=True)
    for f in data["features"]:
        best = data[f"{f}.best_neuron.index"]
        shares = "/".join(f"{100 * s:.0f}" for s in data[f"{f}.pca.explained_top3"])
        where = data[f"{f}.cond_means.max_distance_value"]
        table.add_row(
            f, f"h{best} {_fmt(data[f'{f}.best_neuron.r'], 2, signed=True)}" if best >= 0 else "–",
            _fmt(data[f"{f}.cov_direction.r"]), _fmt(data[f"{f}.ols_direction.r"]),
            str(len(data[f"{f}.cond_means.values"])),
            f"{_fmt(data[f'{f}.cond_means.max_distance'], 2)} ({'–' if where is None or where != where else f'{where:g}'})",
            shares or "–",
        )
    table.caption = escape(
        f"u_f = Cov(h, f)/‖Cov(h, f)‖; OLS is in-sample (it fits better and points "
        f"elsewhere); K values have ≥ {data['min_support']} positions; max Δ = max ‖E[h|f=k] − E[h|f=k₀]‖; "
        f"PCA % = shares of the top 3 PCs of those E[h|f=k]")
    return table


def conditional_means_tables(data: dict) -> list:
    """For each feature with at least three supported values: ‖E[h|f=k] − E[h|f=k₀]‖ by k.

    Args:
        data: what :func:`compute` returned.
    """
    from rich.table import Table

    tables = []
    for f in data["features"]:
        values = data[f"{f}.cond_means.values"]
        if len(values) < 3:
            continue
        distances = data[f"{f}.cond_means.distances"]
        table = Table(title=escape(f"‖E[h|{f}=k] − E[h|{f}={values[0]:g}]‖"))
        for col in ("k", "positions", "distance", ""):
            table.add_column(col, justify="left" if not col else "right")
        top = max(distances)
        for k, count, d in zip(values, data[f"{f}.cond_means.counts"], distances):
            table.add_row(f"{k:g}", str(count), _fmt(d, 2), _bar(d, top))
        tables.append(table)
    return tables


def cosine_table(data: dict, width: int | None = None):
    """The cosines between the features' covariance directions u_f.

    Where the features' names do not fit ``width`` as column headers, the columns are numbered
    and each row's name starts with its number.

    Args:
        data: what :func:`compute` returned.
        width: the console's width (None: the names always head the columns).
    """
    from rich.table import Table

    names = data["features"]
    cells = [max(len(b), len("+0.00")) for b in names]
    numbered = width is not None and max(map(len, names)) + 4 + sum(cells) + 3 * len(names) > width
    table = Table(title="cos(u_a, u_b) between covariance directions")
    table.add_column("")
    for i, b in enumerate(names, 1):
        table.add_column(str(i) if numbered else b, justify="right", no_wrap=True)
    for i, a in enumerate(names):
        row = []
        for j, b in enumerate(names):
            key = f"cosines.{a}.{b}" if i < j else f"cosines.{b}.{a}"
            row.append("1" if i == j else _fmt(data[key], 2, signed=True))
        table.add_row(f"{i + 1} {a}" if numbered else a, *row)
    if numbered:
        table.caption = "column i is the feature of row i"
    return table


def input_table(data: dict):
    """Input columns Wx[:, b] against each feature's v_f (PC1) and u_f (covariance direction), one
    row per byte and feature, so the table keeps five narrow columns however many features there are.

    Args:
        data: what :func:`compute` returned.
    """
    from rich.table import Table

    names = data["features"]
    table = Table(title="Input columns against feature directions")
    table.add_column("byte", no_wrap=True)
    table.add_column("‖Wx‖", justify="right", no_wrap=True)
    table.add_column("feature", no_wrap=True)
    table.add_column("cos v_f", justify="right", no_wrap=True)
    table.add_column("cos u_f", justify="right", no_wrap=True)
    for key in (k for k in data if k.startswith("input_norms.")):
        byte = key.split(".", 1)[1]
        for i, f in enumerate(names):
            cosines = (_fmt(data[f"input_cosines.{byte}.{f}.{d}"], 2, signed=True) for d in ("pc1_direction", "cov_direction"))
            table.add_row(byte if i == 0 else "", _fmt(data[key], 2) if i == 0 else "", f, *cosines,
                          end_section=i == len(names) - 1)
    table.caption = escape("‖Wx‖ = ‖Wx[:, b]‖, the norm of byte b's input column; cos v_f = cos(Wx[:, b], v_f) "
                           "with the feature's PC1 direction, cos u_f = cos(Wx[:, b], u_f) with its "
                           "covariance direction")
    return table


def propagation_table(data: dict, powers: tuple[int, ...] = _SHOWN_POWERS):
    """How Wh carries each feature's v_f: amplification, self-alignment, share kept, linear powers.

    Args:
        data: what :func:`compute` returned.
        powers: the k whose ‖Wh^k v_f‖ are shown.
    """
    from rich.table import Table

    table = Table(title="W_h propagation of v_f (S = top-3 PCs of the conditional means)")
    for col in ("feature", "‖Wh v‖", "cos", "in S (dim)", *(f"‖Wh{_superscript(k)}v‖" for k in powers)):
        table.add_column(col, justify="left" if col == "feature" else "right", no_wrap=True)
    for f in data["features"]:
        if f"propagation.{f}.wh_v_norm" not in data:
            continue
        pre = f"propagation.{f}."
        norms = data[pre + "power_norms"]
        table.add_row(f, _fmt(data[pre + "wh_v_norm"]), _fmt(data[pre + "cos_wh_v_v"]),
                      f"{_fmt(data[pre + 'subspace_share'])} ({data[pre + 'subspace_dim']})",
                      *(stored(norms[k - 1]) for k in powers if k <= len(norms)))
    table.caption = escape("‖Wh v‖: the amplification of the unit direction v = v_f; cos = cos(Wh v, v), its "
                           "self-alignment; in S = ‖P_S Wh v‖ / ‖Wh v‖, the share of Wh v left in S (dim: S's "
                           "dimension); ‖Whᵏv‖: plain linear powers (no tanh)")
    return table


def render(data: dict, console) -> None:
    """Print the factor map as rich tables.

    Args:
        data: what :func:`compute` returned.
        console: a rich Console.
    """
    console.print(readout_table(data))
    for table in conditional_means_tables(data):
        console.print(table)
    console.print(cosine_table(data, console.width))
    console.print(input_table(data))
    console.print(escape(f"space reset ‖E[h | after space] − E[h | not after space]‖ = {_fmt(data['space_reset'])}"))
    console.print(propagation_table(data))
