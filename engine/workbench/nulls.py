"""Is an edit's effect real? The same edit on N seeded random unit directions: a matched null.

For an edit E (subtract a direction at every step, subtract it at the readout only, write a
feature's oracle value into it) and its direction u, the null is the ΔBPC of E applied to each of
the directions ``r_i = random_unit_direction(first_seed + i, H)``, i = 0..N-1 (everything else of
the edit unchanged; a write-in refits its oracle values on each ``r_i``). Against it, an edit's
ΔBPC ``d`` has

- ``percentile = 100 (#{i : null_i < d} + 0.5 #{i : null_i = d}) / N``;
- ``z = (d - mean) / sd``, with ``sd`` the sample standard deviation (N - 1; NaN for N < 2 or sd = 0).

Each null run is streamed and keeps no per-position Δbits (fixed memory). Nulls are cached per
model and text (by content, so a new session of the same files reuses them), edit, N and seed.
"""

from __future__ import annotations

import hashlib
import math
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import Cancelled
from factormap.engine.interventions.directions import random_unit_direction
from factormap.engine.interventions.oracle import fit_write_in_oracle
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import SubtractAtReadout, SubtractEachStep

#: Random directions per null by default, and the first seed.
NULL_N, NULL_SEED = 20, 0


@dataclass(frozen=True)
class NullEdit:
    """An edit that can be applied to any direction, named for the null's cache and JSON keys.

    Attributes
    ----------
    key
        ``subtract_each_step``, ``subtract_at_readout`` or ``write_in_oracle.<feature>.<variant>``.
    feature
        for a write-in, the name of a standard feature or an (n,) array; else None.
    variant
        for a write-in, ``linear`` or ``conditional_mean``.
    """

    key: str
    feature: str | np.ndarray | None = None
    variant: str = "linear"

    def spec(self, session, direction: np.ndarray, name: str, should_stop=None):
        """The edit's spec along ``direction`` (a write-in fits its values on the session first)."""
        if self.key == "subtract_each_step":
            return SubtractEachStep(direction, name=name)
        if self.key == "subtract_at_readout":
            return SubtractAtReadout(direction, name=name)
        return fit_write_in_oracle(session, direction, self.feature, self.variant, name=name, should_stop=should_stop)

    def cache_key(self) -> str:
        """``key``, plus a digest of an array feature (two user features may share a name)."""
        if isinstance(self.feature, np.ndarray):
            return f"{self.key}#{hashlib.blake2b(np.ascontiguousarray(self.feature).tobytes(), digest_size=8).hexdigest()}"
        return self.key


SUBTRACT_EACH_STEP = NullEdit("subtract_each_step")
SUBTRACT_AT_READOUT = NullEdit("subtract_at_readout")


def write_in_null(feature: str | np.ndarray, variant: str = "linear", label: str = "") -> NullEdit:
    """The write-in edit of ``feature`` (``label`` names an array feature in the key)."""
    name = feature if isinstance(feature, str) else (label or "feature")
    return NullEdit(f"write_in_oracle.{name}.{variant}", feature, variant)


def null_edit_of(key: str) -> NullEdit | None:
    """The matched-null edit of the research edit ``key`` (:mod:`...interventions.table`): the same
    edit along random directions (subtractions and write-ins of a feature direction); None for the
    others (weight edits, ablations, the random control)."""
    kind, _, rest = key.partition(".")
    if kind in ("subtract_each_step", "subtract_at_readout"):
        return NullEdit(kind)
    if kind == "write_in_oracle":
        feature, _, variant = rest.partition(".")
        return write_in_null(feature, variant or "linear")
    return None


@dataclass(frozen=True)
class NullComparison:
    """One edit's ΔBPC against its matched null (see the module).

    Attributes
    ----------
    delta_bpc
        the edit's ΔBPC d.
    percentile
        of d among the null, 0..100.
    z
        ``(d - null_mean) / null_sd``.
    null_mean, null_sd
        the null's mean and sample standard deviation.
    null_n
        N.
    """

    delta_bpc: float
    percentile: float
    z: float
    null_mean: float
    null_sd: float
    null_n: int

    def to_dict(self) -> dict:
        """JSON-ready figures: ``delta_bpc``, ``percentile``, ``z``, ``null_mean``, ``null_sd``, ``null_n``."""
        return {"delta_bpc": self.delta_bpc, "percentile": self.percentile, "z": self.z,
                "null_mean": self.null_mean, "null_sd": self.null_sd, "null_n": self.null_n}


@dataclass(frozen=True)
class MatchedNull:
    """ΔBPC of one edit on N seeded random unit directions.

    Attributes
    ----------
    edit
        the edit's key.
    seeds
        (N,) the seeds of the directions.
    delta_bpc
        (N,) ΔBPC of each (read-only).
    mean, sd
        their mean and sample standard deviation (N - 1).
    min, max
        their least and greatest.
    """

    edit: str
    seeds: np.ndarray
    delta_bpc: np.ndarray
    mean: float
    sd: float
    min: float
    max: float

    @classmethod
    def of(cls, edit: str, seeds: np.ndarray, delta_bpc: np.ndarray) -> "MatchedNull":
        """The null of the given runs, with its summary figures."""
        d = np.array(delta_bpc, np.float64)
        d.setflags(write=False)
        sd = float(np.std(d, ddof=1)) if d.size > 1 else math.nan
        return cls(edit, np.asarray(seeds), d, float(d.mean()), sd, float(d.min()), float(d.max()))

    def percentile(self, value: float) -> float:
        """``100 (#{null < value} + 0.5 #{null = value}) / N``."""
        below = np.count_nonzero(self.delta_bpc < value)
        equal = np.count_nonzero(self.delta_bpc == value)
        return float(100.0 * (below + 0.5 * equal) / self.delta_bpc.size)

    def z(self, value: float) -> float:
        """``(value - mean) / sd`` (NaN when sd is 0 or undefined)."""
        return (value - self.mean) / self.sd if self.sd > 0 else math.nan

    def compare(self, value: float) -> NullComparison:
        """``value`` against this null."""
        return NullComparison(float(value), self.percentile(value), self.z(value), self.mean, self.sd,
                              int(self.delta_bpc.size))

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {"null_mean": self.mean, "null_sd": self.sd, "null_min": self.min, "null_max": self.max,
                "null_n": int(self.delta_bpc.size), "null_first_seed": int(self.seeds[0]) if self.seeds.size else None}


class NullCache:
    """Matched nulls by (model and text content, edit, N, first seed); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nulls: dict[tuple, MatchedNull] = {}
        self._digests: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def digest(self, session) -> str:
        """A digest of the session's weights and text (computed once per session)."""
        with self._lock:
            known = self._digests.get(session)
        if known is not None:
            return known
        h = hashlib.blake2b(digest_size=16)
        model = session.model
        for array in (model.Wx, model.Wh, model.bh, model.Wy, model.by):
            h.update(np.ascontiguousarray(array).tobytes())
        h.update(session.text)
        with self._lock:
            self._digests[session] = h.hexdigest()
        return h.hexdigest()

    def get(self, key: tuple) -> MatchedNull | None:
        """The cached null, or None."""
        with self._lock:
            return self._nulls.get(key)

    def put(self, key: tuple, null: MatchedNull) -> None:
        """Keep ``null`` under ``key``."""
        with self._lock:
            self._nulls[key] = null


#: The process's cache of nulls.
NULL_CACHE = NullCache()


def matched_null(session, edit: NullEdit, n: int = NULL_N, first_seed: int = NULL_SEED, *,
                 progress: Callable[[float], None] | None = None, should_stop: Callable[[], bool] | None = None,
                 cache: NullCache | None = NULL_CACHE) -> MatchedNull:
    """The :class:`MatchedNull` of ``edit`` on the session: N runs, or the cache's copy.

    Raises
    ------
    ValueError
        ``n < 1``.
    Cancelled
        ``should_stop()`` returned true (nothing is cached).
    """
    if n < 1:
        raise ValueError(f"a null needs 1 or more random directions, got {n}")
    key = None if cache is None else (cache.digest(session), edit.cache_key(), int(n), int(first_seed))
    known = None if key is None else cache.get(key)
    if known is not None:
        if progress is not None:
            progress(1.0)
        return known
    seeds = np.arange(first_seed, first_seed + n)
    deltas = np.empty(n)
    for i, seed in enumerate(seeds):
        if should_stop is not None and should_stop():
            raise Cancelled("null cancelled")
        spec = edit.spec(session, random_unit_direction(int(seed), session.H), f"r{int(seed)}", should_stop)
        part = None if progress is None else (lambda f, i=i: progress((i + f) / n))
        deltas[i] = intervention_delta(session, [spec], progress=part, should_stop=should_stop,
                                       keep_delta_bits=False).delta_bpc
    null = MatchedNull.of(edit.key, seeds, deltas)
    if key is not None:
        cache.put(key, null)
    return null


@dataclass(frozen=True)
class NullTable:
    """The matched nulls of the research's direction edits, by the edit's key.

    Attributes
    ----------
    nulls
        research edit key (``subtract_each_step.word_len``...) -> its :class:`MatchedNull`.
    """

    nulls: dict[str, MatchedNull]

    def to_dict(self) -> dict:
        """JSON-ready figures: ``<key>.null_mean``, ``<key>.null_sd``, ... nested under each key."""
        return {key: null.to_dict() for key, null in self.nulls.items()}


def research_nulls(session, keys, n: int = NULL_N, *, progress: Callable[[float], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> NullTable:
    """The :class:`NullTable` of the research edits ``keys`` that have a null (others are left out)."""
    edits = {key: edit for key in keys if (edit := null_edit_of(key)) is not None}
    nulls = {}
    for i, (key, edit) in enumerate(edits.items()):
        part = None if progress is None else (lambda f, i=i: progress((i + f) / len(edits)))
        nulls[key] = matched_null(session, edit, n, progress=part, should_stop=should_stop)
    return NullTable(nulls)
