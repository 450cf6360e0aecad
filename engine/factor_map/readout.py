"""What the hidden state says about one feature: correlations, directions, conditional means, PCA.

All quantities are float64 and population statistics (divide by n) over the positions given; the
states are ``h_t``, the state after reading ``x_t``, and the feature is aligned with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.factor_map.moments import FeatureMoments, StateMoments

#: A value k of a feature gets a conditional mean ``E[h | f = k]`` only if at least this many
#: positions have it. With 20 positions the standard error of each unit's mean is under a quarter
#: of its spread (``1/sqrt(20)``); rarer values (the long words of one 1 KB text) are noise.
#: The PCA figures depend on this choice: on ../shared/reference it keeps word lengths 0..16, and
#: the research's published shares (38/33/29 %) and W_h propagation come out; 10 or 30 differ.
MIN_SUPPORT = 20

#: The conditional-mean subspace S of a feature is spanned by this many leading PCs.
SUBSPACE_DIM = 3


@dataclass(frozen=True)
class FeatureReadout:
    """The readout of one feature f from the hidden states h (float64, read-only; H = hidden size).

    Attributes
    ----------
    name
        the feature's name.
    n
        number of positions.
    per_neuron_r
        (H,) Pearson ``r(h_j, f)``; NaN where h_j or f is constant.
    best_neuron
        ``argmax_j |r(h_j, f)|`` (-1 when every r is NaN).
    best_r
        ``r(h_best, f)``, signed.
    cov_direction
        (H,) ``u_f = Cov(h, f) / ||Cov(h, f)||``, unit (zeros when f is constant).
    cov_r
        Pearson ``r(h . u_f, f)``.
    cov_r2
        ``cov_r ** 2``.
    ols_direction
        (H,) the least-squares weights ``b`` of ``f ~ a + h . b`` (minimum-norm
        solution of ``Cov(h) b = Cov(h, f)``), normalised to unit length.
    ols_r
        Pearson ``r(h . b, f)``, the multiple correlation (in-sample; it fits better than
        ``u_f`` and points elsewhere).
    ols_r2
        ``ols_r ** 2``, the in-sample R^2 of the regression.
    cond_values
        (K,) the values k of f with at least ``min_support`` positions, ascending
        (empty for features that are not integer-valued).
    cond_counts
        (K,) positions with each value.
    cond_means
        (K, H) ``E[h | f = k]``.
    cond_distances
        (K,) ``||E[h | f = k] - E[h | f = k_0]||`` with ``k_0 = cond_values[0]``.
    pca_components
        (P, H) principal axes of the K conditional means centred on their
        unweighted mean, unit rows, by decreasing variance; P = min(K - 1, H).
        Row 0 is ``pc1_direction``.
    pca_explained_total
        (P,) each component's share of the total variance of the centred means.
    pca_explained_top3
        (min(P, 3),) each of the top 3 components' share of their sum.
    pc1_direction
        (H,) ``v_f``: the first principal axis, signed so that ``h . v_f``
        correlates positively with f (``v_f . Cov(h, f) >= 0``); NaN when K < 2.
    """

    name: str
    n: int
    per_neuron_r: np.ndarray
    best_neuron: int
    best_r: float
    cov_direction: np.ndarray
    cov_r: float
    cov_r2: float
    ols_direction: np.ndarray
    ols_r: float
    ols_r2: float
    cond_values: np.ndarray
    cond_counts: np.ndarray
    cond_means: np.ndarray
    cond_distances: np.ndarray
    pca_components: np.ndarray
    pca_explained_total: np.ndarray
    pca_explained_top3: np.ndarray
    pc1_direction: np.ndarray

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def has_pca(self) -> bool:
        """True when at least two values have conditional means (so ``v_f`` exists)."""
        return self.pca_components.shape[0] > 0

    @property
    def subspace(self) -> np.ndarray:
        """(<= 3, H) orthonormal rows: the top PCs of the conditional means (the feature's subspace)."""
        return self.pca_components[:SUBSPACE_DIM]

    @property
    def max_distance(self) -> float:
        """``max_k ||E[h|f=k] - E[h|f=k_0]||`` over the supported values (NaN when none)."""
        return float(self.cond_distances.max()) if self.cond_distances.size else float("nan")

    @property
    def max_distance_value(self) -> float:
        """The value k at which :attr:`max_distance` is reached (NaN when none)."""
        return float(self.cond_values[np.argmax(self.cond_distances)]) if self.cond_distances.size else float("nan")


def _pearson_along(w: np.ndarray, cov_h: np.ndarray, cov_hf: np.ndarray, var_f: float) -> float:
    """Pearson ``r(h . w, f)`` from the moments."""
    denom = float(w @ cov_h @ w) * var_f
    return float(w @ cov_hf / np.sqrt(denom)) if denom > 0 else float("nan")


def _unit(w: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(w)
    return w / norm if norm > 0 else np.zeros_like(w)


def _conditional_means(states: StateMoments, feat: FeatureMoments, min_support: int):
    values = np.array(sorted(v for v, c in feat.value_counts.items() if c >= min_support), np.float64)
    counts = np.array([feat.value_counts[v] for v in values.tolist()], np.int64)
    H = states.sum.size
    means = np.array([states.shift + feat.value_sums[v] / feat.value_counts[v] for v in values.tolist()])
    means = means.reshape(values.size, H)
    distances = np.linalg.norm(means - means[0], axis=1) if values.size else np.empty(0)
    return values, counts, means, distances


def _pca(means: np.ndarray, cov_hf: np.ndarray):
    K, H = means.shape
    P = min(K - 1, H)
    if P < 1:
        return np.empty((0, H)), np.empty(0), np.empty(0), np.full(H, np.nan)
    _, s, vt = np.linalg.svd(means - means.mean(axis=0), full_matrices=False)
    components = vt[:P].copy()
    if components[0] @ cov_hf < 0:
        components[0] = -components[0]
    ev = s[:P] ** 2
    total = ev / ev.sum() if ev.sum() > 0 else np.full(P, np.nan)
    top = ev[:SUBSPACE_DIM]
    top3 = top / top.sum() if top.sum() > 0 else np.full(top.size, np.nan)
    return components, total, top3, components[0].copy()


def readout_from_moments(name: str, states: StateMoments, feat: FeatureMoments,
                         min_support: int = MIN_SUPPORT) -> FeatureReadout:
    """The :class:`FeatureReadout` of a feature from streamed moments (see the field definitions)."""
    cov_h = states.cov
    cov_hf = feat.cov_with(states)
    var_f = feat.var
    var_h = np.diag(cov_h)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_neuron = np.where((var_h > 0) & (var_f > 0), cov_hf / np.sqrt(var_h * var_f), np.nan)
    finite = np.isfinite(per_neuron)
    best = int(np.argmax(np.where(finite, np.abs(per_neuron), -1.0))) if finite.any() else -1
    u = _unit(cov_hf)
    cov_r = _pearson_along(u, cov_h, cov_hf, var_f)
    beta = np.linalg.lstsq(cov_h, cov_hf, rcond=None)[0]
    ols_r = _pearson_along(beta, cov_h, cov_hf, var_f)
    values, counts, means, distances = _conditional_means(states, feat, min_support)
    components, total, top3, pc1 = _pca(means, cov_hf)
    return FeatureReadout(
        name=name, n=states.n, per_neuron_r=per_neuron, best_neuron=best,
        best_r=float(per_neuron[best]) if best >= 0 else float("nan"),
        cov_direction=u, cov_r=cov_r, cov_r2=cov_r ** 2,
        ols_direction=_unit(beta), ols_r=ols_r, ols_r2=ols_r ** 2,
        cond_values=values, cond_counts=counts, cond_means=means, cond_distances=distances,
        pca_components=components, pca_explained_total=total, pca_explained_top3=top3,
        pc1_direction=pc1,
    )


def readout_feature(states: np.ndarray, f: np.ndarray, name: str = "feature",
                    min_support: int = MIN_SUPPORT) -> FeatureReadout:
    """The :class:`FeatureReadout` of f (n,) from states (n, H) held in memory."""
    states = np.asarray(states)
    f = np.asarray(f, np.float64)
    if states.ndim != 2 or f.shape != (states.shape[0],):
        raise ValueError(f"states {states.shape} and feature {f.shape} do not align")
    sm = StateMoments(states.shape[1])
    fm = FeatureMoments(states.shape[1])
    fm.add(sm.add(states), f)
    return readout_from_moments(name, sm, fm, min_support)
