"""What the research asks of an intervention beyond its ΔBPC: the residual readout of the feature,
a sensitivity band for chaotic edits, and the random-direction control.

Each function runs whole-text passes (:func:`...run.intervention_delta`), calls ``progress(fraction)``
as they go and raises :class:`~factormap.engine.errors.Cancelled` when ``should_stop()`` is true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.factor_map.readout import FeatureReadout, readout_from_moments
from factormap.engine.factor_map.stream import FeatureColumn
from factormap.engine.interventions.plan import resolved
from factormap.engine.interventions.run import InterventionResult, intervention_delta
from factormap.engine.interventions.specs import RandomDirection
from factormap.engine.factor_map.moments import FeatureMoments, StateMoments

ProgressFn = Callable[[float], None] | None
StopFn = Callable[[], bool] | None

#: Default size of a direction nudge for the sensitivity band.
BAND_EPS = 1e-6


def _part(progress: ProgressFn, i: int, n: int) -> ProgressFn:
    """``progress`` for run i of n, mapping its fraction into [i/n, (i+1)/n]."""
    return None if progress is None else (lambda f: progress((i + f) / n))


@dataclass(frozen=True)
class ResidualReadout:
    """An intervention's ΔBPC and what the edited states still say about a feature.

    Attributes
    ----------
    result
        the intervention's whole-text figures (ΔBPC; no per-position Δbits kept).
    readout
        the feature's readout refitted on the edited states (after the weight and
        per-step edits: the states the recurrence carries), every position.
    r
        ``readout.cov_r``: Pearson ``r(h' . u'_f, f)`` with ``u'_f = Cov(h', f)/||Cov(h', f)||``
        refitted on the edited states h'; how much of the feature regenerates.
    """

    result: InterventionResult
    readout: FeatureReadout
    r: float

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {**self.result.to_dict(), "residual.r": self.r}


def residual_readout(session, specs, feature: str | np.ndarray, name: str = "feature", *,
                     progress: ProgressFn = None, should_stop: StopFn = None) -> ResidualReadout:
    """Run ``specs`` over the text and refit the feature's covariance direction on the edited states.

    ``feature`` is the name of a standard feature (streamed chunk by chunk beside the edited
    states: no per-position array) or an (n,) array aligned with the states.
    """
    column = FeatureColumn(session.x, feature, session.chunk)
    sm, fm = StateMoments(session.H), FeatureMoments(session.H)

    def sink(t0: int, states: np.ndarray) -> None:
        fm.add(sm.add(states), column.range(t0, t0 + states.shape[0]))

    result = intervention_delta(session, specs, progress=progress, should_stop=should_stop, state_sink=sink,
                                keep_delta_bits=False)
    ro = readout_from_moments(name, sm, fm)
    return ResidualReadout(result=result, readout=ro, r=ro.cov_r)


@dataclass(frozen=True)
class Band:
    """ΔBPC of a set of interventions and of n nudged copies of it.

    Attributes
    ----------
    value
        ΔBPC of the interventions as given.
    nudged
        (n,) ΔBPC with every direction (and every column of a weight edit's V) moved to
        ``unit(u + eps g / sqrt(H))``, ``g ~ N(0, I)``, an independent draw per run.
    eps
        the nudge size.
    min
        least of ``value`` and ``nudged``.
    max
        greatest of ``value`` and ``nudged``.
    """

    value: float
    nudged: np.ndarray
    eps: float
    min: float
    max: float

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {"delta_bpc": self.value, "band.min": self.min, "band.max": self.max, "band.eps": self.eps,
                "band.n": int(self.nudged.size)}


def sensitivity_band(session, specs, n: int = 8, eps: float = BAND_EPS, seed: int = 0, *,
                     value: float | None = None, progress: ProgressFn = None,
                     should_stop: StopFn = None) -> Band:
    """The :class:`Band` of ``specs``: re-run with n nudges of their directions (seeded by ``seed``).

    ``value`` skips the unnudged run when its ΔBPC is known already. Readout-only sets do not feed
    the recurrence, so their band is as narrow as the nudge itself. A set with nothing to nudge
    (neuron ablations only) is not re-run: its band is the value.
    """
    specs = resolved(specs, session.H)
    rng = np.random.default_rng(seed)
    runs = n + (value is None)
    if value is None:
        value = intervention_delta(session, specs, progress=_part(progress, 0, runs), should_stop=should_stop,
                                   keep_delta_bits=False).delta_bpc
    nudged = np.empty(n)
    for i in range(n):
        moved = [s.nudged(rng, eps) for s in specs]
        if all(m is s for m, s in zip(moved, specs)):
            nudged[i:] = value
            break
        nudged[i] = intervention_delta(session, moved, progress=_part(progress, runs - n + i, runs),
                                       should_stop=should_stop, keep_delta_bits=False).delta_bpc
    both = np.append(nudged, value)
    return Band(value=float(value), nudged=nudged, eps=eps, min=float(both.min()), max=float(both.max()))


@dataclass(frozen=True)
class RandomControl:
    """ΔBPC of subtracting random unit directions at every step, one seed at a time.

    Attributes
    ----------
    seeds
        (n,) the seeds of :func:`...directions.random_unit_direction`.
    delta_bpc
        (n,) ΔBPC of each.
    mean
        their mean.
    min
        their least.
    max
        their greatest.
    """

    seeds: np.ndarray
    delta_bpc: np.ndarray
    mean: float
    min: float
    max: float

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {"delta_bpc.mean": self.mean, "delta_bpc.min": self.min, "delta_bpc.max": self.max,
                "n": int(self.seeds.size)}


def random_direction_control(session, n: int = 20, first_seed: int = 0, *, progress: ProgressFn = None,
                             should_stop: StopFn = None) -> RandomControl:
    """:class:`RandomDirection` with seeds ``first_seed .. first_seed + n - 1``, each alone."""
    seeds = np.arange(first_seed, first_seed + n)
    deltas = np.array([intervention_delta(session, [RandomDirection(int(s))], progress=_part(progress, i, n),
                                          should_stop=should_stop, keep_delta_bits=False).delta_bpc
                       for i, s in enumerate(seeds)])
    return RandomControl(seeds=seeds, delta_bpc=deltas, mean=float(deltas.mean()),
                         min=float(deltas.min()), max=float(deltas.max()))
