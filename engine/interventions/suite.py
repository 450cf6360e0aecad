"""The research's intervention table: each edit of a feature direction, its ΔBPC, band and residual.

For each feature of :data:`.table.FEATURES` that varies over the text, the rows are the edits of
:func:`.table.feature_edits` (subtract ``u_f`` at every step, with the residual readout of f; at the
readout only; for word_len the write-in oracles and the weight edits), then ``random_direction``:
the mean ΔBPC of :class:`RandomDirection` seeds 0..n-1, its band the least and greatest over the
seeds. Every other band is :func:`.analysis.sensitivity_band`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.stream import FeatureStream
from factormap.engine.interventions.analysis import (
    BAND_EPS,
    random_direction_control,
    residual_readout,
    sensitivity_band,
)
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.table import FEATURES, EditContext, feature_edits


@dataclass(frozen=True)
class SuiteRow:
    """One intervention of the table.

    Attributes
    ----------
    key
        dotted name, e.g. ``subtract_each_step.word_len``.
    edits
        the one-line description of what it edits.
    delta_bpc
        its ΔBPC over the whole text (for ``random_direction`` the mean over seeds).
    band_min
        least ΔBPC over the nudged re-runs and the value (over the seeds for the control).
    band_max
        greatest of the same.
    residual_r
        for per-step subtraction, r of the feature's direction refitted on the edited
        states; NaN otherwise.
    """

    key: str
    edits: str
    delta_bpc: float
    band_min: float
    band_max: float
    residual_r: float = float("nan")


@dataclass(frozen=True)
class Suite:
    """The intervention table of a model on a text.

    Attributes
    ----------
    baseline_bpc
        the session's BPC.
    band_n
        nudged re-runs per band; band_eps: their size; random_n: seeds of the control.
    rows
        the interventions, in table order.
    """

    baseline_bpc: float
    band_n: int
    band_eps: float
    random_n: int
    rows: tuple[SuiteRow, ...]

    def to_dict(self) -> dict:
        """JSON-ready figures under ``<key>.delta_bpc``, ``<key>.band.min``, ``<key>.band.max``,
        ``<key>.residual.r`` (per-step subtractions) and ``<key>.edits``."""
        out: dict = {"baseline_bpc": self.baseline_bpc, "band.n": self.band_n, "band.eps": self.band_eps,
                     "random_direction.n": self.random_n, "rows": [r.key for r in self.rows]}
        for r in self.rows:
            out.update({f"{r.key}.edits": r.edits, f"{r.key}.delta_bpc": r.delta_bpc,
                        f"{r.key}.band.min": r.band_min, f"{r.key}.band.max": r.band_max})
            if r.residual_r == r.residual_r:
                out[f"{r.key}.residual.r"] = r.residual_r
        return out


class _Steps:
    """Maps run i of ``total`` onto the caller's progress and stop callables."""

    def __init__(self, total: int, progress, should_stop) -> None:
        self.total, self.done, self.progress, self.should_stop = total, 0, progress, should_stop

    def part(self, runs: int) -> dict:
        start = self.done
        self.done += runs
        report = None if self.progress is None else (lambda f: self.progress((start + runs * f) / self.total))
        return {"progress": report, "should_stop": self.should_stop}


def _band_row(session, key: str, specs, steps: _Steps, band_n: int, eps: float,
              residual: str | None = None) -> SuiteRow:
    """A row of ``specs``; ``residual``: the standard feature whose residual readout it reports."""
    if residual is None:
        value = intervention_delta(session, specs, keep_delta_bits=False, **steps.part(1)).delta_bpc
        r = float("nan")
    else:
        res = residual_readout(session, specs, residual, residual, **steps.part(1))
        value, r = res.result.delta_bpc, res.r
    band = sensitivity_band(session, specs, band_n, eps, value=value, **steps.part(band_n))
    return SuiteRow(key, specs[0].describe(), value, band.min, band.max, r)


def _varying(x, names: tuple[str, ...]) -> tuple[str, ...]:
    """The standard features among ``names`` that take more than one value over the text (streamed)."""
    lo, hi = dict.fromkeys(names, np.inf), dict.fromkeys(names, -np.inf)
    for _, _, block in FeatureStream(x, names, 1 << 16).chunks():
        for name, f in block.items():
            lo[name], hi[name] = min(lo[name], float(f.min())), max(hi[name], float(f.max()))
    return tuple(name for name in names if hi[name] > lo[name])


def intervention_suite(session, *, band_n: int = 8, band_eps: float = BAND_EPS, random_n: int = 20,
                       progress: Callable[[float], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> Suite:
    """The table of the module docstring for ``session`` (a factor map of FEATURES is computed first)."""
    usable = _varying(session.x, tuple(FEATURES))
    edits = {name: feature_edits(name) for name in usable}
    fits = sum(e.fits_on_text for row_edits in edits.values() for e in row_edits)
    steps = _Steps(1 + sum(len(e) for e in edits.values()) * (1 + band_n) + fits + random_n,
                   progress, should_stop)
    fm = compute_factor_map(session, usable, **steps.part(1)) if usable else None
    rows = []
    for name in usable:
        for edit in edits[name]:
            if not edit.available(fm):
                steps.part(1 + band_n)
                continue
            fit = steps.part(1) if edit.fits_on_text else {}
            spec = edit.build(EditContext(session, fm, **fit))
            rows.append(_band_row(session, edit.key, [spec], steps, band_n, band_eps,
                                  residual=edit.residual_of or None))
    control = random_direction_control(session, random_n, **steps.part(random_n))
    rows.append(SuiteRow("random_direction", f"subtract a random direction at every step (mean of {random_n} seeds)",
                         control.mean, control.min, control.max))
    return Suite(baseline_bpc=session.bpc, band_n=band_n, band_eps=band_eps, random_n=random_n, rows=tuple(rows))
