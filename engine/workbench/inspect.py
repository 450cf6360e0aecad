"""Where a neuron or direction fires across the whole text, streamed in bounded memory.

For a :class:`~factormap.engine.workbench.probe.Probe` with values ``a_t = h_t . u`` over the
positions t = 0..n-1 (``h_t`` the state after reading ``x_t``), :func:`inspect_probe` gives:

- the K positions of the highest ``a_t`` (highest first) and of the lowest (lowest first), equal
  values by position, earliest first, each with its context (the bytes before and after t);
- the histogram of ``a_t``: ``bins`` equal bins from ``min a`` to ``max a``, as ``np.histogram``
  of the whole column (each bin half-open ``[e_i, e_{i+1})``, the last one closed);
- the fraction of positions with ``a_t >= threshold``;
- the Pearson correlation ``r(a, f)`` with every standard feature and every feature given.

Two passes over the states (the histogram's edges need the extremes): memory is one chunk of
states and features, the 4K extremes and the per-feature sums, whatever the text's length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.features import STANDARD_FEATURES
from factormap.engine.factor_map.moments import FeatureMoments, StateMoments
from factormap.engine.factor_map.stream import FeatureStream
from factormap.engine.workbench.extremes import RunningExtremes
from factormap.engine.workbench.probe import Probe

#: Extremes listed by default, histogram bins, and bytes of context shown before and after.
DEFAULT_TOP, DEFAULT_BINS, CONTEXT_BEFORE, CONTEXT_AFTER = 10, 40, 24, 12


@dataclass(frozen=True, eq=False)
class Inspection:
    """A probe's values ``a_t`` over the whole text (see the module for each definition).

    Attributes
    ----------
    probe
        what was inspected.
    n
        positions read (the whole text).
    top_positions, top_values
        (K,) positions and values of the highest ``a_t``, highest first.
    bottom_positions, bottom_values
        (K,) the same of the lowest, lowest first.
    contexts
        position -> (bytes before, the byte, bytes after) for every listed position.
    mean, sd
        mean and population standard deviation of ``a_t``.
    histogram_edges
        (bins+1,) from ``min a`` to ``max a``.
    histogram_counts
        (bins,) positions per bin.
    threshold
        the threshold of ``fraction_above``.
    fraction_above
        fraction of positions with ``a_t >= threshold``.
    correlations
        feature name -> Pearson ``r(a, f)`` (NaN when a or f is constant).
    """

    probe: Probe
    n: int
    top_positions: np.ndarray
    top_values: np.ndarray
    bottom_positions: np.ndarray
    bottom_values: np.ndarray
    contexts: dict[int, tuple[bytes, bytes, bytes]]
    mean: float
    sd: float
    histogram_edges: np.ndarray
    histogram_counts: np.ndarray
    threshold: float
    fraction_above: float
    correlations: dict[str, float] = field(default_factory=dict)

    def fraction_at_or_above_edge(self, i: int) -> float:
        """Fraction of positions with ``a_t >= histogram_edges[i]``, exact from the counts, for the
        bins' lower edges i = 0..bins-1 (``i`` is clipped to them; ``i = 0`` gives 1)."""
        i = int(np.clip(i, 0, self.histogram_counts.size - 1))
        return float(self.histogram_counts[i:].sum()) / self.n if self.n else 0.0

    def to_dict(self) -> dict:
        """JSON-ready figures, nested under the names of the quantities (``histogram.edges`` is
        ``out["histogram"]["edges"]``); contexts are left to the caller."""
        return {"probe": self.probe.name, "neuron": self.probe.neuron, "n": self.n,
                "top_positions": self.top_positions.tolist(), "top_values": self.top_values.tolist(),
                "bottom_positions": self.bottom_positions.tolist(), "bottom_values": self.bottom_values.tolist(),
                "mean": self.mean, "sd": self.sd,
                "histogram": {"edges": self.histogram_edges.tolist(), "counts": self.histogram_counts.tolist()},
                "fraction_above": {"threshold": self.threshold, "value": self.fraction_above},
                "correlation": {name: {"r": r} for name, r in self.correlations.items()}}


def _stop_check(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("inspection cancelled")


def _chunks(session, features: Mapping[str, np.ndarray]):
    """``(t0, t1, name -> feature values at [t0, t1))``: standard features streamed, given ones sliced."""
    for t0, t1, block in FeatureStream(session.x, STANDARD_FEATURES, session.chunk).chunks():
        block.update({name: np.asarray(f, np.float64)[t0:t1] for name, f in features.items()})
        yield t0, t1, block


def inspect_probe(session, probe: Probe, *, top: int = DEFAULT_TOP, bins: int = DEFAULT_BINS,
                  threshold: float = 0.0, features: Mapping[str, np.ndarray] | None = None,
                  context: tuple[int, int] = (CONTEXT_BEFORE, CONTEXT_AFTER),
                  progress: Callable[[float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Inspection:
    """Inspect ``probe`` over the whole text of ``session`` (see the module for the definitions).

    Parameters
    ----------
    session : a :class:`~factormap.engine.session.Session`; its states are read chunk by chunk.
    probe : the neuron or direction (its H must be the model's).
    top : K, extremes listed at each end.
    bins : histogram bins, 1 or more.
    threshold : the threshold of ``fraction_above``.
    features : user features, name -> (n,) array aligned with ``h_t``, correlated after the
        standard ones.
    context : bytes shown before and after each listed position.
    progress : called with the fraction done (the first pass is the first half).
    should_stop : polled before each chunk; when true, :class:`Cancelled` is raised.

    Raises
    ------
    ValueError
        ``bins < 1``, ``top < 0`` or a probe of another hidden size.
    Cancelled
        ``should_stop()`` returned true.
    """
    if bins < 1:
        raise ValueError(f"bins must be 1 or more, got {bins}")
    if probe.H != session.H:
        raise ValueError(f"the probe has {probe.H} components but the model has H = {session.H}")
    n = session.n
    features = dict(features or {})
    extremes = RunningExtremes(max(top, 1))  # at least one of each: the histogram's extent
    probe_moments = StateMoments(1)
    moments = {name: FeatureMoments(1) for name in (*STANDARD_FEATURES, *features)}
    for t0, t1, block in _chunks(session, features):
        _stop_check(should_stop)
        a = probe.values(session.states(t0, t1))
        extremes.add(t0, a)
        centred = probe_moments.add(a[:, None])
        for name, m in moments.items():
            m.add(centred, block[name])
        if progress is not None:
            progress(0.5 * t1 / n)
    top_positions, top_values = (a[:top] for a in extremes.top)
    bottom_positions, bottom_values = (a[:top] for a in extremes.bottom)
    lo, hi = float(extremes.bottom[1][0]), float(extremes.top[1][0])
    edges = np.histogram_bin_edges(np.array([lo, hi]), bins=bins, range=(lo, hi))
    counts = np.zeros(bins, np.int64)
    above = 0
    for t0 in range(0, n, session.chunk):
        _stop_check(should_stop)
        t1 = min(n, t0 + session.chunk)
        a = probe.values(session.states(t0, t1))
        counts += np.histogram(a, bins=edges)[0]
        above += int(np.count_nonzero(a >= threshold))
        if progress is not None:
            progress(0.5 + 0.5 * t1 / n)
    var_a = float(probe_moments.cov[0, 0])
    listed = set(top_positions.tolist()) | set(bottom_positions.tolist())
    return Inspection(
        probe=probe, n=n, top_positions=top_positions, top_values=top_values,
        bottom_positions=bottom_positions, bottom_values=bottom_values,
        contexts={t: session.context(t, *context) for t in sorted(listed)},
        mean=float(probe_moments.mean[0]), sd=float(np.sqrt(max(var_a, 0.0))),
        histogram_edges=edges, histogram_counts=counts, threshold=float(threshold),
        fraction_above=above / n, correlations={name: _pearson(probe_moments, m) for name, m in moments.items()},
    )


def _pearson(a: StateMoments, f: FeatureMoments) -> float:
    """``Cov(a, f) / (sd a * sd f)`` from the sums (NaN when either is constant)."""
    var = float(a.cov[0, 0]) * f.var
    return float(f.cov_with(a)[0] / np.sqrt(var)) if var > 0 else float("nan")
