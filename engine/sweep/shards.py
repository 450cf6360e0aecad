"""The single-pass analyses that split at the session's checkpoints, as shards on a cluster.

A pass whose figures are sums over positions of what the *baseline* states give (the recurrence
itself untouched) can start anywhere the session kept a state: a shard ``[start, stop)`` re-runs
the recurrence from ``h_{start-1}`` (the session's checkpoint at ``start``, a multiple of its
chunk) and walks its positions in the session's own chunks, so every chunk's numbers are the
serial pass's. Two analyses do so here (and the attribution summary in :mod:`.shard_attribution`):

- the factor map's moments (:func:`shard_moments`, merged by :func:`merged_moments`): every shard
  takes its sums around the serial pass's shift (the first chunk's means), so the merged sums are
  the serial sums added in another order: equal to float64 rounding (relative ~1e-15 per shard),
  not bit for bit; the integer counts of the conditional means merge exactly;
- readout-only edits (:func:`shard_readout_delta`): each chunk's float64 sum of Δbits is the
  serial run's, and :func:`sharded_readout_delta` adds them in text order, so ΔBPC is bit for bit
  the serial :func:`~factormap.engine.interventions.run.intervention_delta`'s.

Edits that feed the recurrence (per-step and weight edits, ablations, random directions) cannot
split: position t's edited state depends on every edited step before it. The baseline pass that
fills the checkpoints is sequential too, and runs once, before the shards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.factor_map.compute import FactorMap, factor_map_from_moments
from factormap.engine.factor_map.features import STANDARD_FEATURES, FeatureCarry, features_of_range
from factormap.engine.factor_map.moments import FeatureMoments, StateMoments
from factormap.engine.factor_map.readout import MIN_SUPPORT
from factormap.engine.forward import next_targets, readout, recur
from factormap.engine.interventions.plan import compile_plan
from factormap.engine.interventions.run import FLOOR_BITS
from factormap.engine.model import Model

#: Bytes walked at a time to find the features' carry at each shard's start.
_WALK = 1 << 20


@dataclass(frozen=True, eq=False)
class Shard:
    """Positions ``[start, stop)`` of a text and what a worker needs to run them alone.

    Attributes
    ----------
    start
        a multiple of ``chunk`` (0 for the first shard).
    stop
        the next shard's start, or n.
    chunk
        the session's chunk: the shard walks ``[start, stop)`` in these ranges.
    h0
        ``h_{start-1}``, the state the recurrence starts from (zeros at 0): the session's checkpoint.
    carry
        what the standard features at ``start`` need of the bytes before it.
    """

    start: int
    stop: int
    chunk: int
    h0: np.ndarray
    carry: FeatureCarry

    def chunks(self, model: Model, x: np.ndarray):
        """``(t0, t1, states)`` of the shard's chunks in order, the baseline states recomputed."""
        h = self.h0
        for t0 in range(self.start, self.stop, self.chunk):
            t1 = min(self.stop, t0 + self.chunk)
            states = recur(model, x[t0:t1], h)
            h = states[-1]
            yield t0, t1, states


def plan_shards(session, n_shards: int) -> list[Shard]:
    """``session``'s positions in ``n_shards`` (or fewer) shards of whole chunks, near-equal in size.

    Runs the session's baseline pass first (sequential, once) for its checkpoints.
    """
    for _ in session.run():
        pass
    chunks = -(-session.n // session.chunk)
    bounds = sorted({round(i * chunks / max(1, int(n_shards))) * session.chunk for i in range(int(n_shards))})
    shards, carry, walked = [], FeatureCarry(), 0
    for i, start in enumerate(bounds):
        stop = bounds[i + 1] if i + 1 < len(bounds) else session.n
        for a in range(walked, start, _WALK):
            carry = features_of_range(session.x, a, min(start, a + _WALK), carry)[1]
        walked = start
        h0 = session.checkpoints[start // session.checkpoint_every].copy()
        shards.append(Shard(start, stop, session.chunk, h0, carry))
    return shards


# -- factor map ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shifts:
    """The serial pass's shifts: means of the first chunk's states and of each feature on it."""

    state: np.ndarray
    features: dict[str, float]


def serial_shifts(session, names: tuple[str, ...]) -> Shifts:
    """The shifts :func:`~factormap.engine.factor_map.compute.compute_factor_map` takes from its first chunk."""
    t1 = min(session.n, session.chunk)
    values = features_of_range(session.x, 0, t1, names=names)[0]
    sm = StateMoments(session.H)
    centred = sm.add(session.states(0, t1))
    shifts = {}
    for name in names:
        fm = FeatureMoments(session.H)
        fm.add(centred, values[name])
        shifts[name] = fm.shift
    return Shifts(sm.shift, shifts)


def _stream_names(names: tuple[str, ...]) -> tuple[str, ...]:
    return names if "after_space" in names else names + ("after_space",)


def shard_moments(model: Model, text: bytes, shard: Shard, names: tuple[str, ...],
                  shifts: Shifts) -> tuple[StateMoments, dict[str, FeatureMoments]]:
    """The float64 sums of the factor map over one shard: states, and every standard feature of
    ``names`` plus ``after_space`` (the space reset), around the serial pass's shifts."""
    x = np.frombuffer(text, np.uint8)
    streamed = _stream_names(names)
    sm = StateMoments(model.H)
    sm.shift = shifts.state
    moments = {name: FeatureMoments(model.H) for name in streamed}
    for name, m in moments.items():
        m.shift = shifts.features[name]
    carry = shard.carry
    for t0, t1, states in shard.chunks(model, x):
        values, carry = features_of_range(x, t0, t1, carry, streamed)
        centred = sm.add(states)
        for name, m in moments.items():
            m.add(centred, values[name])
    return sm, moments


def merged_moments(parts) -> tuple[StateMoments, dict[str, FeatureMoments]]:
    """The sums of :func:`shard_moments` parts added together (in the given order)."""
    (sm, fms), rest = parts[0], parts[1:]
    for other_sm, other_fms in rest:
        sm.merge(other_sm)
        for name, m in fms.items():
            m.merge(other_fms[name])
    return sm, fms


def sharded_factor_map(client, session, n_shards: int, names: tuple[str, ...] = STANDARD_FEATURES,
                       min_support: int = MIN_SUPPORT) -> FactorMap:
    """The factor map of the standard features ``names`` with its moments summed over shards on
    ``client``'s cluster (model and text scattered once); equal to
    :func:`~factormap.engine.factor_map.compute.compute_factor_map` to float64 rounding."""
    shards = plan_shards(session, n_shards)
    shifts = serial_shifts(session, _stream_names(tuple(names)))
    model, text = client.scatter([session.model, session.text], broadcast=True)
    futures = [client.submit(shard_moments, model, text, s, tuple(names), shifts, retries=1) for s in shards]
    sm, moments = merged_moments(client.gather(futures))
    space = moments["after_space"]
    return factor_map_from_moments(session.model, sm, {name: moments[name] for name in names}, space, min_support)


# -- readout-only edits -------------------------------------------------------------------------
def readout_model(session, specs) -> Model:
    """The model whose readout sees the state after the readout-only ``specs`` (folded into Wy, by),
    as :class:`~factormap.engine.interventions.run.EditedRun` reads out a float32 session."""
    plan = compile_plan(session, specs)
    if plan.feeds_recurrence:
        raise ValueError("only readout-only edits split into shards: these feed the recurrence")
    return plan.readout.folded_into_readout(session.model)


def shard_readout_delta(model: Model, edited: tuple[Model, ...], text: bytes, shard: Shard) -> np.ndarray:
    """(len(edited), chunks of the shard) float64: each chunk's sum of ``bits'_t - bits_t``."""
    x = np.frombuffer(text, np.uint8)
    n = x.size
    sums = []
    for t0, t1, states in shard.chunks(model, x):
        m = min(t1, n - 1) - t0
        targets = next_targets(x, t0, t1)
        base = readout(model, states, targets).bits[:m]
        row = []
        for e in edited:
            bits = readout(e, states, targets).bits[:m]
            row.append(float(np.sum(np.where(np.isfinite(bits), bits, FLOOR_BITS) - base, dtype=np.float64)))
        sums.append(row)
    return np.array(sums, np.float64).reshape(-1, len(edited)).T


def sharded_readout_delta(client, session, spec_sets, n_shards: int) -> list[float]:
    """ΔBPC of each set of readout-only specs, its positions split into shards on ``client``'s
    cluster; bit for bit the serial run's (the chunks' sums added in text order)."""
    edited = tuple(readout_model(session, specs) for specs in spec_sets)
    shards = plan_shards(session, n_shards)
    model, text = client.scatter([session.model, session.text], broadcast=True)
    parts = client.gather([client.submit(shard_readout_delta, model, edited, text, s, retries=1) for s in shards])
    out = []
    for i in range(len(edited)):
        total = 0.0
        for part in parts:
            for chunk_sum in part[i]:
                total += chunk_sum
        out.append(total / (session.n - 1))
    return out
