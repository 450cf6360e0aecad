"""The dashboard's background work: every whole-text analysis it draws, one engine call per part.

:func:`compute_parts` runs in a thread worker and posts each finished part as a :class:`PartReady`
message (and its progress as :class:`PartProgress`), so charts fill in one by one. The results are
kept in a :class:`DashboardData` that outlives the screen, so reopening it redraws at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.factor_map.bpc_breakdown import bpc_breakdown
from factormap.engine.errors import Cancelled, FactormapError
from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.attribution.sparsity import gradient_sparsity
from factormap.engine.interventions.suite import intervention_suite
from factormap.engine.interventions.table import FEATURES, feature_edits
from factormap.engine.workbench.nulls import research_nulls
from factormap.engine.factor_map.representatives import first_occurrences_of_feature, neuron_peaks
from factormap.engine.session import Session

ATTRIBUTION_PREFIX = 1 << 18
"""Texts longer than this many bytes have their attribution summarised over this leading prefix:
backpropagating every prediction K = 64 offsets costs about as much as 65 forward passes, which on a
100 MB text would keep the dashboard's last charts waiting for hours."""

PARTS = ("breakdown", "factor_map", "peaks", "sparsity", "attribution", "interventions", "nulls")
"""The parts in the order they are computed (cheap ones first, the intervention table and the
matched nulls of its direction edits last)."""


@dataclass
class DashboardData:
    """The engine's results for one session, filled in as parts finish.

    Attributes:
        parts: part name -> its result (see :func:`compute_part`); absent until computed.
    """

    parts: dict[str, Any] = field(default_factory=dict)

    def missing(self) -> list[str]:
        """Parts not computed yet, in computing order."""
        return [name for name in PARTS if name not in self.parts]

    def to_dict(self) -> dict:
        """Every computed part as JSON-ready figures under the part's name."""
        out = {}
        for name, result in self.parts.items():
            if name == "factor_map":
                fm, occurrences = result
                out[name] = fm.to_dict() | {"word_len.cond_means.first_position": occurrences.tolist()}
            elif name == "attribution":
                summary, peaks = result
                out[name] = summary.to_dict() | {"offset_peak_position": peaks.tolist()}
            else:
                out[name] = result.to_dict()
        return out


@dataclass
class PartReady(Message):
    """A part of the dashboard was computed.

    Attributes:
        name: one of :data:`PARTS`.
        result: what :func:`compute_part` returned for it.
    """

    name: str
    result: Any


@dataclass
class PartFailed(Message):
    """A part could not be computed for this text; ``error`` says why in one line."""

    name: str
    error: str


@dataclass
class PartProgress(Message):
    """A part advanced; ``fraction`` of it is done."""

    name: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        """A newer report of the same part makes a queued one pointless."""
        return isinstance(message, PartProgress) and message.name == self.name


def compute_part(session, name: str, progress: Callable[[float], None] | None,
                 should_stop: Callable[[], bool]) -> Any:
    """One part, with the report's default settings so the figures are the report's.

    Returns:
        breakdown: BpcBreakdown; factor_map: (FactorMap of the standard features, first position of
        each ``word_len`` conditional-mean value); peaks: NeuronPeaks; sparsity: GradientSparsity;
        attribution: (AttributionSummary, its peak_positions), over the first
        :data:`ATTRIBUTION_PREFIX` bytes of a longer text; interventions: Suite; nulls: the
        NullTable of the table's direction edits (the report's default of 20 random directions).
    """
    kw = {"progress": progress, "should_stop": should_stop}
    if name == "breakdown":
        return bpc_breakdown(session, **kw)
    if name == "factor_map":
        fm = compute_factor_map(session, **kw)
        values = fm.readouts["word_len"].cond_values
        return fm, first_occurrences_of_feature(session.x, "word_len", values)
    if name == "peaks":
        return neuron_peaks(session, **kw)
    if name == "sparsity":
        return gradient_sparsity(session, **kw)
    if name == "attribution":
        if session.n <= ATTRIBUTION_PREFIX:
            summary = attribution_summary(session, **kw)
        else:
            prefix = Session(session.model, session.text[:ATTRIBUTION_PREFIX])
            try:
                summary = attribution_summary(prefix, **kw)
            finally:
                prefix.close()
        return summary, summary.peak_positions
    if name == "interventions":
        return intervention_suite(session, **kw)
    if name == "nulls":
        return research_nulls(session, [e.key for feature in FEATURES for e in feature_edits(feature)], **kw)
    raise ValueError(f"unknown dashboard part {name!r}")


def compute_parts(session, names: list[str], post: Callable[[Message], None],
                  cancelled: Callable[[], bool]) -> None:
    """Compute ``names`` in order, posting progress and each result; return early once cancelled."""
    for name in names:
        if cancelled():
            return
        try:
            result = compute_part(session, name, lambda f, name=name: post(PartProgress(name, f)), cancelled)
        except Cancelled:
            return
        except (FactormapError, ValueError, MemoryError) as exc:
            # One part the text cannot support (too short, too big) leaves the other charts to come.
            post(PartFailed(name, f"{type(exc).__name__}: {exc}"))
            continue
        post(PartReady(name, result))
