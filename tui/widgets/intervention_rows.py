"""The rows of the interventions pane: which engine spec each row switches on, and the job its
worker runs.

Each row builds its spec from the session, the factor map (for the word-length direction u_wl and
the conditional-mean PCs) and the selected neuron. Building may cost a pass over the text (the
write-in oracle fits its values on the states), so it runs in the row's worker, like the rest of
:func:`run_row`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.compute import FactorMap
from factormap.engine.interventions.analysis import Band, residual_readout, sensitivity_band
from factormap.engine.interventions.run import EditedRun, InterventionResult
from factormap.engine.interventions.specs import SubtractAtReadout, SubtractEachStep
from factormap.engine.interventions.table import EditContext, ResearchEdit, research_edit
from factormap.engine.session import Session
from factormap.engine.workbench.nulls import NULL_N, NullComparison, matched_null, null_edit_of
from factormap.tui.fields import compact

BAND_RUNS = 4
"""Nudged re-runs behind a row's sensitivity band."""


@dataclass(frozen=True)
class InterventionRow:
    """One switchable edit of the pane: an edit of the research's table (:mod:`...interventions.table`).

    Attributes:
        edit: the engine's definition of the edit (key, labels, how its spec is built).
    """

    edit: ResearchEdit

    @property
    def name(self) -> str:
        """The row's label, with ``{neuron}`` where the selected neuron goes."""
        return self.edit.label

    @property
    def needs_factor_map(self) -> bool:
        """True when the spec is built from the factor map."""
        return bool(self.edit.feature)

    @property
    def residual_of(self) -> str:
        """The standard feature refitted on the edited states after the run, or ""."""
        return self.edit.residual_of

    def build(self, session: Session, factor_map: FactorMap | None, neuron: int,
              progress: Callable[[float], None], should_stop: Callable[[], bool]):
        """The row's spec; a builder that passes over the text (the oracle's fit) reports and stops
        through the last two arguments."""
        return self.edit.build(EditContext(session, factor_map, neuron, progress, should_stop))

    def label(self, selected_neuron: int, width: int = 22) -> str:
        """The row's label in ``width`` characters, with the selected neuron filled in."""
        label = self.edit.label if width >= len(self.edit.label) else self.edit.abbreviation
        return label.format(neuron=selected_neuron)[:width]


ROWS: tuple[InterventionRow, ...] = tuple(InterventionRow(research_edit(key)) for key in (
    "subtract_each_step.word_len", "subtract_at_readout.word_len", "write_in_oracle.word_len.linear",
    "random_direction.seed_0", "ablate_neuron", "edit_weights.word_len.left"))
"""The pane's rows, in key order (row i is toggled by key i+1)."""


@dataclass
class RowState:
    """What the pane knows about one row (main thread only).

    Attributes:
        on: the edit is active.
        token: bumped on every start or stop, so reports of a stale run are recognised.
        stage: what the row's worker is doing ("factor map", "fit", "cursor", "text", "band",
            "residual", "done", "error").
        fraction: progress of the current stage, 0..1.
        spec: the engine spec, once built.
        run: the :class:`EditedRun`, once started.
        result: the whole-text result, once streamed.
        band: the sensitivity band, once computed (edits that feed the recurrence only).
        residual: r of the row's ``residual_of`` feature refitted on the edited states, once computed.
        figures: ``(t, t0, t1, Δbits at t, mean Δbits over [t0, t1))``.
        null: the whole-text ΔBPC against the edit's matched null of :data:`NULL_N` random unit
            directions (percentile and z), once computed; edits along a direction only.
        error: the one-sentence failure.
    """

    on: bool = False
    token: int = 0
    stage: str = ""
    fraction: float = 0.0
    spec: object | None = None
    run: EditedRun | None = None
    result: InterventionResult | None = None
    band: Band | None = None
    residual: float | None = None
    figures: tuple[int, int, int, float, float] | None = None
    null: NullComparison | None = None
    error: str = ""


def toggle_keys(rows: int) -> str:
    """The keys that toggle the pane's ``rows`` rows, e.g. ``i1–i8`` (one dash form everywhere)."""
    return "i1" if rows == 1 else f"i1–i{rows}"


def user_feature_rows(name: str, direction) -> tuple[InterventionRow, InterventionRow]:
    """The two rows of a user feature's covariance direction ``u_NAME``: subtract it at every step,
    and at the readout only (keys ``subtract_each_step.NAME``, ``subtract_at_readout.NAME``).
    Their short labels read like the standard rows' (``−wl step``, ``−wl read``)."""
    label = f"u_{name}"
    return (
        InterventionRow(ResearchEdit(f"subtract_each_step.{name}", f"−{label} every step", f"−{name[:3]} step",
                                     lambda ctx: SubtractEachStep(direction, label))),
        InterventionRow(ResearchEdit(f"subtract_at_readout.{name}", f"−{label} at readout", f"−{name[:3]} read",
                                     lambda ctx: SubtractAtReadout(direction, label))),
    )


def row_description(i: int, row: RowState, neuron: int, factor_map_ready: bool,
                    rows: Sequence[InterventionRow] = ROWS) -> str:
    """The one line under the table that says what row ``i`` of ``rows`` edits (with its band,
    residual r and null percentile)."""
    if row.spec is not None:
        band = (f" │ band of {row.band.nudged.size} nudged re-runs [{compact(row.band.min, signed=True)}, "
                f"{compact(row.band.max, signed=True)}] bits"
                if row.band is not None else "")
        residual = (f" │ residual r({rows[i].residual_of}) {compact(row.residual)}"
                    if row.residual is not None else "")
        null = (f" │ null: percentile {row.null.percentile:.0f}, z {compact(row.null.z, signed=True)} against {row.null.null_n} "
                f"random directions" if row.null is not None else "")
        return f" {i + 1}: {row.spec.describe()}{band}{residual}{null}"
    needs = " (computes the factor map first)" if rows[i].needs_factor_map and not factor_map_ready else ""
    return f" {i + 1}: {rows[i].label(neuron)}{needs}"


def run_row(session: Session, row: InterventionRow, factor_map: FactorMap | None, neuron: int,
            place: tuple[int, int, int], report: Callable[..., None], should_stop: Callable[[], bool]) -> None:
    """A row's worker: build the spec, Δbits at the cursor and over the window, the whole text, the
    band, the residual readout where the row asks for one, and the matched null of an edit along
    a direction (cached per model and text, so a second toggle costs nothing).

    Args:
        session: the baseline session.
        row: the row to run.
        factor_map: the factor map (None for rows that do not need it).
        neuron: the selected neuron.
        place: ``(t, t0, t1)``: the cursor and the window the first figures are for.
        report: called with :class:`RowState` fields to update, from this thread.
        should_stop: true once the row was toggled again (the run stops, reporting nothing more).
    """
    try:
        spec = row.build(session, factor_map, neuron, lambda f: report(stage="fit", fraction=f), should_stop)
    except Cancelled:
        return
    run = EditedRun(session, [spec])
    report(spec=spec, run=run, stage="cursor")
    t, t0, t1 = place
    # edits that feed the recurrence know a position only once the run has passed it; the figures
    # go out as soon as it has (readout-only edits know every position at once)
    due = max(t + 1, min(t1, session.n - 1)) if run.plan.feeds_recurrence else 0
    try:
        report(stage="text")
        for p in run.run(should_stop):
            if due is not None and p.done >= due:
                report(figures=(t, t0, t1, run.delta_at(t), run.window_delta_bpc(t0, t1)))
                due = None
            report(fraction=p.fraction)
        if should_stop():
            return
        result = run.result()
    finally:
        run.close()
    report(result=result, stage="band" if run.plan.feeds_recurrence else "done", fraction=0.0)
    if run.plan.feeds_recurrence:
        try:
            band = sensitivity_band(session, [spec], n=BAND_RUNS, value=result.delta_bpc,
                                    progress=lambda f: report(fraction=f), should_stop=should_stop)
        except Cancelled:
            return
        report(band=band, stage="residual" if row.residual_of else "done", fraction=0.0)
    if row.residual_of:
        try:
            residual = residual_readout(session, [spec], row.residual_of, row.residual_of,
                                        progress=lambda f: report(fraction=f), should_stop=should_stop)
        except Cancelled:
            return
        report(residual=residual.r, stage="done")
    null_edit = null_edit_of(row.edit.key)
    if null_edit is not None:
        report(stage="null", fraction=0.0)
        try:
            null = matched_null(session, null_edit, NULL_N, progress=lambda f: report(fraction=f),
                                should_stop=should_stop)
        except Cancelled:
            return
        report(null=null.compare(result.delta_bpc), stage="done")
