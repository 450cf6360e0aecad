"""A probe's causal cost: what removing it costs in bits, and whether a random direction would cost
as much.

For a probe with unit direction u (a neuron j is ``u = e_j``, and subtracting it is zero-ablating
the unit):

- ``each_step``: ΔBPC of ``h <- h - (h . u) u`` after the tanh at every step (feeds the recurrence
  and the readout; :class:`~factormap.engine.interventions.specs.SubtractEachStep`);
- ``readout``: ΔBPC of the same edit on the state the readout sees only
  (:class:`~factormap.engine.interventions.specs.SubtractAtReadout`);
- ``through_recurrence = each_step - readout``: the part of the cost carried forward in time;
- each of the two against its matched null (:mod:`.nulls`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from factormap.engine.interventions.run import intervention_delta
from factormap.engine.workbench.nulls import (
    NULL_CACHE,
    NULL_N,
    NULL_SEED,
    SUBTRACT_AT_READOUT,
    SUBTRACT_EACH_STEP,
    NullCache,
    NullComparison,
    matched_null,
)
from factormap.engine.workbench.probe import Probe


@dataclass(frozen=True)
class CausalCost:
    """ΔBPC of subtracting a probe at every step and at the readout, each against its null.

    Attributes
    ----------
    each_step
        ΔBPC at every step, with its null comparison.
    readout
        ΔBPC at the readout only, with its null comparison.
    """

    each_step: NullComparison
    readout: NullComparison

    @property
    def through_recurrence(self) -> float:
        """``each_step.delta_bpc - readout.delta_bpc``."""
        return self.each_step.delta_bpc - self.readout.delta_bpc

    def to_dict(self) -> dict:
        """JSON-ready figures, nested: ``each_step.percentile``, ``readout.null_mean``,
        ``through_recurrence.delta_bpc``, ..."""
        return {"each_step": self.each_step.to_dict(), "readout": self.readout.to_dict(),
                "through_recurrence": {"delta_bpc": self.through_recurrence}}


def causal_cost(session, probe: Probe, *, null_n: int = NULL_N, first_seed: int = NULL_SEED,
                progress: Callable[[float], None] | None = None, should_stop: Callable[[], bool] | None = None,
                cache: NullCache | None = NULL_CACHE) -> CausalCost:
    """The :class:`CausalCost` of ``probe``: 2 runs and two nulls of ``null_n`` runs (cached)."""
    total = 2 * (1 + null_n)
    comparisons = []
    for i, edit in enumerate((SUBTRACT_EACH_STEP, SUBTRACT_AT_READOUT)):
        base = i * (1 + null_n)
        part = None if progress is None else (lambda f, base=base: progress((base + f) / total))
        value = intervention_delta(session, [edit.spec(session, probe.direction, probe.name)], progress=part,
                                   should_stop=should_stop, keep_delta_bits=False).delta_bpc
        part = None if progress is None else (lambda f, base=base: progress((base + 1 + null_n * f) / total))
        null = matched_null(session, edit, null_n, first_seed, progress=part, should_stop=should_stop, cache=cache)
        comparisons.append(null.compare(value))
    return CausalCost(*comparisons)
