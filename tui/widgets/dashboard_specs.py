"""The dashboard's charts as :class:`ChartSpec` pages, arranged from the engine's results.

Nothing is computed here: every value is a field of an engine result (see
:func:`factormap.tui.dashboard_jobs.compute_part`), only put in chart order with labels. Each
builder takes one part's result and returns ``{chart id: [pages]}``.
"""

from __future__ import annotations

import numpy as np

from factormap.engine.interventions.table import research_edit
from factormap.tui.fields import compact, fixed
from factormap.tui.glyphs import escaped
from factormap.tui.widgets.charts import ChartSpec

CHARTS: dict[str, str] = {
    "neuron-r": "per-neuron correlation: |r(h_j, f)| and the covariance direction's r",
    "wl-encoding": "word-length encoding: ‖E[h|wl=k] − E[h|wl=0]‖ against k",
    "entanglement": "entanglement: cos(u_a, u_b) between feature directions",
    "propagation": "W_h propagation: ‖Wh^k v_f‖, k = 1..16",
    "growth": "gradient growth: mean ‖g_k‖/‖g_0‖ against k",
    "sparsity": "gradient sparsity: top-n share of ‖g_0‖²",
    "interventions": "interventions: ΔBPC of each edit",
    "bits-class": "BPC breakdown: mean bits by byte class",
    "bits-tag": "BPC breakdown: mean bits inside vs outside tags",
    "bits-word": "BPC breakdown: mean bits by position in word",
    "worst": "BPC breakdown: the worst predictions",
}
"""Chart id -> its placeholder title, in the order the dashboard lays them out: the research concept
first, then the quantity."""

PART_CHARTS: dict[str, tuple[str, ...]] = {
    "breakdown": ("bits-class", "bits-tag", "bits-word", "worst"),
    "factor_map": ("neuron-r", "wl-encoding", "entanglement", "propagation"),
    "peaks": (),
    "sparsity": ("sparsity",),
    "attribution": ("growth",),
    "interventions": ("interventions",),
    "nulls": (),
}
"""The charts drawn from each part of :data:`factormap.tui.dashboard_jobs.PARTS`."""

SHORT_FEATURES = {"word_len": "wl", "in_tag": "tag", "tag_depth": "depth", "after_space": "space"}
"""Short names of the standard features for crowded axes (user features keep their names)."""
SHORT_EDITS = {"subtract_each_step": "step", "subtract_at_readout": "readout", "write_in_oracle": "oracle",
               "edit_weights": "Wh edit", "random_direction": "random", "conditional_mean": "cond",
               "linear": "lin"}
"""Short names of the intervention table's key parts."""


def short(name: str) -> str:
    """A feature's short name."""
    return SHORT_FEATURES.get(name, name)


def _edit_label(key: str) -> str:
    return " ".join(SHORT_EDITS.get(part, short(part)) for part in key.split("."))


def _edit_name(row) -> str:
    """An intervention row's edit as the interventions pane names it (``−u_wl every step``), or its
    description up to the parenthesis that explains it: never its JSON key."""
    try:
        label = research_edit(row.key).label
    except KeyError:
        label = "{"
    return row.edits.split(" (")[0] if "{" in label else label


def _whole(value: float) -> str:
    """A whole quantity (a word length) as an integer; one that does not exist as ``–``."""
    return str(int(value)) if np.isfinite(value) else compact(value)


def factor_map_specs(result) -> dict[str, list[ChartSpec]]:
    """Word-length encoding, entanglement and propagation from ``(FactorMap, first positions)``."""
    fm, occurrences = result
    wl = fm.readouts["word_len"]
    values = [int(v) for v in wl.cond_values]
    specs = {"wl-encoding": [ChartSpec(
        title="word-length encoding: ‖E[h|wl=k] − E[h|wl=0]‖ against word length k",
        labels=tuple(str(k) for k in values),
        series=(("distance", wl.cond_distances),), style="line", positions=occurrences,
        notes=tuple(f"wl={k}: ‖E[h|wl=k] − E[h|wl=0]‖ = {compact(d)} · over {c:,} positions · enter: first at t={t:,}"
                    for k, d, c, t in zip(values, wl.cond_distances, wl.cond_counts, occurrences)),
        caption=f"max {compact(wl.max_distance)} at k = {_whole(wl.max_distance_value)}")]}
    names = fm.direction_cosines.names
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    cosines = np.array([fm.direction_cosines.cos(a, b) for a, b in pairs])
    specs["entanglement"] = [ChartSpec(
        title="entanglement: cos(u_a, u_b) of the features' covariance directions",
        labels=tuple(f"{short(a)}·{short(b)}" for a, b in pairs), series=(("cos", cosines),),
        notes=tuple(f"cos(u_{a}, u_{b}) = {compact(c, signed=True)}" for (a, b), c in zip(pairs, cosines)))]
    specs["propagation"] = [ChartSpec(
        title=f"W_h propagation: ‖Wh^k v_{short(name)}‖ against k (log y), v = PC1 of E[h|{short(name)}]",
        labels=tuple(str(k) for k in range(1, p.power_norms.size + 1)),
        series=(("‖Wh^k v‖", p.power_norms),), style="line", ylog=True,
        notes=tuple(f"k={k}: ‖Wh^k v_{short(name)}‖ = {compact(v)}" for k, v in enumerate(p.power_norms, 1)),
        caption=f"‖Wh v‖ = {compact(p.norm_Wh_v)}   cos(Wh v, v) = {compact(p.cos_Wh_v_v, signed=True)}   "
                f"share of Wh v in S ({p.subspace_dim}-dim PCA subspace) = {p.subspace_share:.0%}")
        for name, p in fm.propagations.items()]
    return specs


def neuron_r_specs(fm, peaks) -> dict[str, list[ChartSpec]]:
    """One page per feature: ``|r(h_j, f)|`` over neurons j with ``|r(h·u_f, f)|`` as a line beside it."""
    pages = []
    for name, ro in fm.readouts.items():
        r = np.abs(ro.per_neuron_r)
        positions = None if peaks is None else peaks.position
        where = [""] * r.size if positions is None else [f" · enter: most active at t={t:,}" for t in positions]
        pages.append(ChartSpec(
            title=(f"per-neuron correlation: |r(h_j, {name})| per neuron j; "
                   f"line: |r(h·u_f, f)| = {compact(abs(ro.cov_r))}"),
            labels=tuple(f"h{j}" for j in range(r.size)), series=(("|r|", r),), positions=positions, ordered=True,
            hlines=(("cov direction |r|", abs(ro.cov_r)),),
            notes=tuple(f"h{j}: r = {compact(ro.per_neuron_r[j], signed=True)}{where[j]}" for j in range(r.size)),
            caption=(f"f = {name}: best h{ro.best_neuron} r={compact(ro.best_r, signed=True)} · "
                     f"cov direction r={compact(ro.cov_r, signed=True)}")))
    return {"neuron-r": pages}


def attribution_specs(result, predictions: int) -> dict[str, list[ChartSpec]]:
    """Gradient growth (mean and median) with mean |a_k| on the right axis, from ``(summary, peaks)``.

    ``predictions`` is the text's count (n-1); the summary may cover only the first of them.
    """
    s, peaks = result
    covered = int(s.count[0])
    scope = f"over all {covered:,} predictions" if covered == predictions else \
        f"over the first {covered:,} of {predictions:,} predictions"
    ks = range(s.K + 1)
    return {"growth": [ChartSpec(
        title="gradient growth: mean ‖g_k‖/‖g_0‖ and median against offset k; right: mean |a_k|",
        caption=scope,
        labels=tuple(str(k) for k in ks), style="line", positions=peaks,
        series=(("mean ratio", s.growth_mean), ("median ratio", s.growth_median),
                ("mean |a_k|", s.mean_abs_input_attr)), right=("mean |a_k|",),
        notes=tuple(f"k={k}: mean ×{compact(s.growth_mean[k])}  median ×{compact(s.growth_median[k])}  "
                    f"|a_k| {compact(s.mean_abs_input_attr[k])} · enter: largest ‖g_k‖ at t={peaks[k]}" for k in ks))]}


def sparsity_specs(result) -> dict[str, list[ChartSpec]]:
    """The top-n energy share curve."""
    n = result.top_n
    return {"sparsity": [ChartSpec(
        title="gradient sparsity: mean share of ‖g_0‖² held by the top-n neurons against n",
        labels=tuple(str(int(k)) for k in n), series=(("share", result.mean_share),), style="line",
        notes=tuple(f"top {int(k)}: {v:.1%} of the gradient energy" for k, v in zip(n, result.mean_share)),
        caption=f"top-10: {result.share(min(10, n.size)):.1%} over {result.predictions:,} predictions")]}


def interventions_specs(suite, nulls=None) -> dict[str, list[ChartSpec]]:
    """ΔBPC of each row of the intervention table, with its sensitivity band; with the matched
    nulls (a :class:`~factormap.engine.workbench.nulls.NullTable`), a second page: each direction
    edit's ΔBPC with its null as the band (least to greatest over the random directions)."""
    rows = suite.rows
    pages = [ChartSpec(
        title=(f"interventions: ΔBPC of each edit, with its sensitivity band "
               f"(baseline {fixed(suite.baseline_bpc, 4)})"),
        labels=tuple(_edit_label(r.key) for r in rows), series=(("ΔBPC", np.array([r.delta_bpc for r in rows])),),
        band=(np.array([r.band_min for r in rows]), np.array([r.band_max for r in rows])),
        notes=tuple(f"{_edit_name(r)}: {compact(r.delta_bpc, signed=True)} · band {compact(r.band_min, signed=True)} – "
                    f"{compact(r.band_max, signed=True)}" for r in rows))]
    matched = [(r, nulls.nulls[r.key]) for r in rows if nulls is not None and r.key in nulls.nulls]
    if matched:
        comparisons = [null.compare(r.delta_bpc) for r, null in matched]
        pages.append(ChartSpec(
            title=(f"interventions against the same edit on {matched[0][1].delta_bpc.size} random unit "
                   "directions (band: their least to greatest)"),
            labels=tuple(_edit_label(r.key) for r, _ in matched),
            series=(("ΔBPC", np.array([r.delta_bpc for r, _ in matched])),),
            band=(np.array([null.min for _, null in matched]), np.array([null.max for _, null in matched])),
            notes=tuple(f"{_edit_name(r)}: {compact(r.delta_bpc, signed=True)} · null {compact(c.null_mean, signed=True)} ± "
                        f"{compact(c.null_sd)} · percentile {c.percentile:.0f}, z {compact(c.z, signed=True)}"
                        for (r, _), c in zip(matched, comparisons))))
    return {"interventions": pages}


def _group_spec(title: str, table, unit: str = "") -> ChartSpec:
    return ChartSpec(
        title=title, labels=table.names, series=(("mean bits", table.mean_bits),), positions=table.worst,
        notes=tuple(f"{unit}{name}: {compact(m)} bits × {c:,} · {s:.1%} of all bits · enter: worst at t={w}"
                    for name, m, c, s, w in zip(table.names, table.mean_bits, table.count, table.share, table.worst)))


def breakdown_specs(b, text: bytes) -> dict[str, list[ChartSpec]]:
    """Bits by byte class, inside vs outside tags, by position in word, and the worst predictions."""
    def context(t: int) -> str:
        return escaped(text[max(0, t - 12):t + 1]) + "‖" + escaped(text[t + 1:t + 2])

    return {
        "bits-class": [_group_spec("BPC breakdown: mean bits of predictions by the class of the predicted byte x_{t+1}",
                                   b.by_class)],
        "bits-tag": [_group_spec("BPC breakdown: mean bits of predictions of bytes inside vs outside tags", b.by_tag)],
        "bits-word": [_group_spec("BPC breakdown: mean bits by the predicted byte's position in its word (0: separator)",
                                  b.by_word_position, "position ")],
        "worst": [ChartSpec(
            title="BPC breakdown: bits of the worst predictions, worst first",
            labels=tuple(str(int(t)) for t in b.worst_positions), series=(("bits", b.worst_bits),),
            positions=b.worst_positions,
            notes=tuple(f"t={int(t)}: {compact(v)} bits for …{context(int(t))}" for t, v in zip(b.worst_positions,
                                                                                         b.worst_bits)),
            caption=f"BPC {fixed(b.bpc, 4)}")],
    }
