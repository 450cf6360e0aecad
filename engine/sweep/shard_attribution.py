"""The attribution summary over shards of predictions split at the session's checkpoints.

Every figure of :class:`~factormap.engine.attribution.summary.AttributionSummary` but the per-position
norms is a sum, a count or a maximum over blocks of predictions, each block's offset profiles a
function of the baseline states alone: a shard of whole blocks re-runs its states from the
session's checkpoints and gives the same blocks as the serial pass. The medians stay exact through
:class:`~factormap.engine.attribution.streamed_median.StreamedMedian`'s two rounds over the shards:
the first adds every shard's integer bin counts, the second keeps, in every shard, the values of the
median bins those merged counts locate. The means are float64 sums of the same block sums added in
another order (equal to rounding); peaks are the earliest position of the greatest norm, as serially.
"""

from __future__ import annotations

import numpy as np

from factormap.engine.attribution import summary
from factormap.engine.attribution.prediction import DEFAULT_K
from factormap.engine.attribution.profiles import offset_profiles
from factormap.engine.attribution.streamed_median import StreamedMedian
from factormap.engine.attribution.summary import AttributionSummary
from factormap.engine.forward import recur


class ShardStates:
    """What :func:`~factormap.engine.attribution.profiles.offset_profiles` reads of a session (model,
    x, n, states) for one shard: states re-run from the checkpoints ``first .. first + len - 1``."""

    def __init__(self, model, text: bytes, checkpoints: np.ndarray, first: int, every: int) -> None:
        self.model = model
        self.x = np.frombuffer(text, np.uint8)
        self.n = self.x.size
        self._checkpoints, self._first, self._every = checkpoints, first, every

    def states(self, t0: int, t1: int) -> np.ndarray:
        """``h_t`` for t in [t0, t1), from the checkpoint at or before t0."""
        k = t0 // self._every
        return recur(self.model, self.x[k * self._every:t1], self._checkpoints[k - self._first])[t0 - k * self._every:]


def _blocks(view: ShardStates, start: int, stop: int, K: int, block: int):
    for a in range(start, stop, block):
        yield offset_profiles(view, a, min(stop, a + block), K, summary.TOP_N)


def _present(profiles) -> np.ndarray:
    return np.arange(profiles.start, profiles.stop)[None, :] >= np.arange(profiles.K + 1)[:, None]


def shard_sums(model, text: bytes, checkpoints: np.ndarray, first: int, every: int, start: int, stop: int,
               K: int, block: int) -> dict:
    """First round over predictions [start, stop) (states from ``checkpoints``, the session's
    ``first ..``): the summary's sums and maxima, and the medians' bin counts."""
    view = ShardStates(model, text, checkpoints, first, every)
    median = StreamedMedian(K + 1)
    out = {"norm_sum": np.zeros(K + 1), "peak": np.full(K + 1, -np.inf), "peak_positions": np.full(K + 1, -1, np.int64),
           "finite": np.zeros(K + 1, bool), "abs_attr": np.zeros((2, K + 1)), "energy": np.zeros((K + 1, view.model.H)),
           "share_sum": 0.0, "share_count": 0}
    for b in _blocks(view, start, stop, K, block):
        g, present = b.grad_norms, _present(b)
        out["norm_sum"] += np.where(present, g, 0).sum(axis=1, dtype=np.float64)
        median.count(g, present)
        filled = np.where(np.isnan(g), -np.inf, g)
        at = np.argmax(filled, axis=1)
        best = filled[np.arange(K + 1), at]
        better = best > out["peak"]
        out["peak"][better], out["peak_positions"][better] = best[better], b.start + at[better]
        out["finite"] |= np.isfinite(filled).any(axis=1)
        out["abs_attr"][0] += np.nansum(np.abs(b.input_attr), axis=1)
        out["abs_attr"][1] += np.nansum(np.abs(b.input_attr_exact), axis=1)
        out["energy"] += b.energy
        out["share_sum"] += float(np.nansum(b.top_share, dtype=np.float64))
        out["share_count"] += int(np.count_nonzero(~np.isnan(b.top_share)))
    out["counts"] = median.counts
    return out


def shard_kept(model, text: bytes, checkpoints: np.ndarray, first: int, every: int, start: int, stop: int,
               K: int, block: int, counts: np.ndarray) -> StreamedMedian:
    """Second round over the same predictions: the values of the median bins the merged ``counts`` locate."""
    view = ShardStates(model, text, checkpoints, first, every)
    median = StreamedMedian(K + 1)
    median.counts = counts
    for b in _blocks(view, start, stop, K, block):
        median.keep(b.grad_norms, _present(b))
    median.counts = np.zeros_like(counts)  # merged once already: the parts bring only their values
    return median


def sharded_attribution_summary(client, session, n_shards: int, K: int = DEFAULT_K) -> AttributionSummary:
    """:func:`~factormap.engine.attribution.summary.attribution_summary` with its blocks run as shards
    on ``client``'s cluster, without the per-position norms (``grad_norms`` is None); the medians
    equal the serial ones exactly, the means to float64 rounding."""
    for _ in session.run():
        pass
    total = session.n - 1
    K = min(int(K), total - 1)
    block, C = summary.BLOCK, session.checkpoint_every
    blocks = -(-total // block)
    bounds = sorted({round(i * blocks / max(1, int(n_shards))) * block for i in range(int(n_shards))})
    model, text = client.scatter([session.model, session.text], broadcast=True)
    parts = []
    for i, start in enumerate(bounds):
        stop = bounds[i + 1] if i + 1 < len(bounds) else total
        first, last = max(0, start - K) // C, (stop - 1) // C
        parts.append((session.checkpoints[first:last + 1].copy(), first, C, start, stop, K, block))
    sums = client.gather([client.submit(shard_sums, model, text, *p, retries=1) for p in parts])
    merged = sums[0]
    for s in sums[1:]:
        for key in ("norm_sum", "abs_attr", "energy", "counts", "share_sum", "share_count"):
            merged[key] = merged[key] + s[key]
        better = s["peak"] > merged["peak"]  # shards in text order: the earliest greatest stays
        merged["peak"][better], merged["peak_positions"][better] = s["peak"][better], s["peak_positions"][better]
        merged["finite"] |= s["finite"]
    median = StreamedMedian(K + 1)
    median.counts = merged["counts"]
    for kept in client.gather([client.submit(shard_kept, model, text, *p, merged["counts"], retries=1) for p in parts]):
        median.merge(kept)
    merged["peak_positions"][~merged["finite"]] = -1
    count = total - np.arange(K + 1)
    mean_norm, median_norm = merged["norm_sum"] / count, median.medians(session.model.dtype)
    neuron_energy = merged["energy"].sum(axis=0)
    return AttributionSummary(
        K=K, count=count, mean_norm=mean_norm, median_norm=median_norm,
        growth_mean=mean_norm / mean_norm[0], growth_median=median_norm / median_norm[0],
        mean_abs_input_attr=merged["abs_attr"][0] / count, mean_abs_input_attr_exact=merged["abs_attr"][1] / count,
        top_share_k0=merged["share_sum"] / max(merged["share_count"], 1), energy=merged["energy"],
        neuron_energy=neuron_energy, neurons_by_energy=np.argsort(-neuron_energy, kind="stable"),
        peak_positions=merged["peak_positions"], grad_norms=None)

