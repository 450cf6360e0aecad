"""The factor map phi: H -> features, computed over a whole text in one streamed pass.

``compute_factor_map(session)`` walks ``session.states`` over the text in chunks and accumulates
float64 sufficient statistics (:mod:`factormap.engine.factor_map.moments`), so memory stays bounded on big
texts. From them it reads out each feature (:class:`FeatureReadout`), the cosines between the
features' directions and with input columns of ``Wx``, the space reset, and how ``Wh`` carries
each feature's direction ``v_f`` (:mod:`factormap.engine.factor_map.propagation`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from factormap.engine.factor_map.readout import (
    MIN_SUPPORT,
    FeatureReadout,
    readout_feature,
    readout_from_moments,
)
from factormap.engine.factor_map.stream import FeatureStream
from factormap.engine.factor_map.features import STANDARD_FEATURES, FeatureError
from factormap.engine.factor_map.lanes import lane_moments
from factormap.engine.factor_map.moments import FeatureMoments, StateMoments
from factormap.engine.factor_map.propagation import Propagation, propagate

__all__ = [
    "MIN_SUPPORT", "INPUT_BYTES", "FeatureReadout", "DirectionCosines", "InputCosines", "FactorMap",
    "compute_factor_map", "readout_feature", "factor_map_from_moments",
]

#: Input columns ``Wx[:, b]`` compared with the feature directions, by name.
INPUT_BYTES: dict[str, int] = {"space": 0x20, "newline": 0x0A, "lt": ord("<"), "gt": ord(">")}


@dataclass(frozen=True)
class DirectionCosines:
    """Cosines between the features' covariance directions.

    Attributes
    ----------
    names
        feature names, in order.
    matrix
        (F, F) ``cos(u_a, u_b) = u_a . u_b`` (the directions are unit; 0 for a constant feature).
    """

    names: tuple[str, ...]
    matrix: np.ndarray

    def cos(self, a: str, b: str) -> float:
        """``cos(u_a, u_b)``."""
        return float(self.matrix[self.names.index(a), self.names.index(b)])


@dataclass(frozen=True)
class InputCosines:
    """Cosines between input columns ``Wx[:, b]`` and the features' directions.

    Attributes
    ----------
    byte_names
        names of the bytes (keys of :data:`INPUT_BYTES`).
    byte_values
        the bytes b.
    feature_names
        feature names, in order.
    column_norms
        (B,) ``||Wx[:, b]||``.
    pc1
        (B, F) ``cos(Wx[:, b], v_f)`` (NaN where f has no ``v_f``).
    cov
        (B, F) ``cos(Wx[:, b], u_f)``.
    """

    byte_names: tuple[str, ...]
    byte_values: tuple[int, ...]
    feature_names: tuple[str, ...]
    column_norms: np.ndarray
    pc1: np.ndarray
    cov: np.ndarray

    def cos(self, byte_name: str, feature: str, direction: str = "pc1") -> float:
        """``cos(Wx[:, byte], v_f)`` (direction "pc1") or ``cos(Wx[:, byte], u_f)`` ("cov")."""
        table = self.pc1 if direction == "pc1" else self.cov
        return float(table[self.byte_names.index(byte_name), self.feature_names.index(feature)])


@dataclass(frozen=True)
class FactorMap:
    """The factor map of a model on a text.

    Attributes
    ----------
    n
        number of positions read (the whole text).
    min_support
        the least count of positions for a conditional mean.
    readouts
        feature name -> :class:`FeatureReadout`.
    direction_cosines
        cosines between the covariance directions ``u_f``.
    input_cosines
        cosines of ``Wx`` columns with ``v_f`` and ``u_f``.
    space_reset
        ``||E[h | after_space] - E[h | not after_space]||`` (after_space: x_{t-1} = 0x20).
    propagations
        feature name -> :class:`Propagation` of ``v_f`` through ``Wh``, with S the
        top-3 PCs of the feature's conditional means (only features with a ``v_f``).
    """

    n: int
    min_support: int
    readouts: dict[str, FeatureReadout]
    direction_cosines: DirectionCosines
    input_cosines: InputCosines
    space_reset: float
    propagations: dict[str, Propagation]

    def to_dict(self) -> dict:
        """JSON-ready figures under flat dotted keys naming the quantity (``word_len.cov_direction.r``)."""
        out: dict = {"n": self.n, "min_support": self.min_support, "features": list(self.readouts),
                     "space_reset": self.space_reset}
        for name, ro in self.readouts.items():
            out.update({
                f"{name}.best_neuron.index": ro.best_neuron,
                f"{name}.best_neuron.r": ro.best_r,
                f"{name}.cov_direction.r": ro.cov_r,
                f"{name}.cov_direction.r2": ro.cov_r2,
                f"{name}.ols_direction.r": ro.ols_r,
                f"{name}.ols_direction.r2": ro.ols_r2,
                f"{name}.cond_means.values": ro.cond_values,
                f"{name}.cond_means.counts": ro.cond_counts,
                f"{name}.cond_means.distances": ro.cond_distances,
                f"{name}.cond_means.max_distance": ro.max_distance,
                f"{name}.cond_means.max_distance_value": ro.max_distance_value,
                f"{name}.pca.explained_total": ro.pca_explained_total,
                f"{name}.pca.explained_top3": ro.pca_explained_top3,
            })
        names = self.direction_cosines.names
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                out[f"cosines.{a}.{b}"] = self.direction_cosines.cos(a, b)
        ic = self.input_cosines
        for byte_name, norm in zip(ic.byte_names, ic.column_norms):
            out[f"input_norms.{byte_name}"] = norm
            for name in ic.feature_names:
                out[f"input_cosines.{byte_name}.{name}.pc1_direction"] = ic.cos(byte_name, name, "pc1")
                out[f"input_cosines.{byte_name}.{name}.cov_direction"] = ic.cos(byte_name, name, "cov")
        for name, prop in self.propagations.items():
            for key, value in prop.to_dict().items():
                out[f"propagation.{name}.{key}"] = value
        return {key: _plain(value) for key, value in out.items()}


def _plain(value):
    """numpy scalars and arrays as Python floats, ints and lists (NaN stays a float)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _check_features(features: Mapping[str, np.ndarray] | None, n: int) -> dict[str, np.ndarray]:
    checked = {}
    for name, f in (features or {}).items():
        f = np.asarray(f)
        if f.dtype.kind not in "biuf":
            raise FeatureError(f"feature {name!r} is not numeric (dtype {f.dtype})")
        if f.shape != (n,):
            raise FeatureError(f"feature {name!r} has {f.size} values but the text has {n} bytes")
        if f.dtype.kind == "f" and not np.all(np.isfinite(f)):
            raise FeatureError(f"feature {name!r} holds NaN or infinite values")
        checked[name] = f
    return checked


def compute_factor_map(session, features: Mapping[str, np.ndarray] | Sequence[str] | None = None,
                       min_support: int = MIN_SUPPORT,
                       progress: Callable[[float], None] | None = None,
                       should_stop: Callable[[], bool] | None = None, *,
                       extra_features: Mapping[str, np.ndarray] | None = None) -> FactorMap:
    """The factor map of ``session.model`` on ``session.text``, streamed in chunks of positions.

    The chunks are summed in two lanes, one per core (:mod:`factormap.engine.factor_map.lanes`):
    the result equals a single pass's sums to float64 rounding, the same on every run.

    Memory: the accumulated moments (H^2 numbers per feature and per conditional-mean value, once
    per lane) and a few chunks of states and features per lane. Standard features are computed chunk by chunk
    (:class:`~factormap.engine.factor_map.stream.FeatureStream`), never as whole-text arrays; arrays
    the caller passes are used as they are and cost what the caller holds (8 bytes per text byte
    for a float64 feature).

    Parameters
    ----------
    session : a :class:`factormap.engine.session.Session`; its states ``h_t`` (the state after
        reading ``x_t``) over every position t = 0..n-1 are read, chunk by chunk.
    features : the features read out: names of standard features (streamed), or name -> (n,) array
        aligned with ``h_t`` (exactly these); default every standard feature
        (:data:`~factormap.engine.factor_map.features.STANDARD_FEATURES`), streamed.
    min_support : least positions for a value's conditional mean (default :data:`MIN_SUPPORT`).
    progress : called with the fraction done after each chunk.
    should_stop : polled before each chunk; when true, :class:`Cancelled` is raised.
    extra_features : name -> (n,) array read out after the standard features (when ``features``
        names them or is None), e.g. the report's ``--feature`` and ``--feature-file``.

    Raises
    ------
    FeatureError
        A feature does not have one finite value per position, a name is not a standard feature,
        an extra feature has the name of a standard one, or there is no feature at all.
    Cancelled
        ``should_stop()`` returned true.
    """
    n = session.n
    if isinstance(features, Mapping):
        standard, given = (), _check_features(features, n)
    else:
        standard = STANDARD_FEATURES if features is None else tuple(features)
        given = _check_features(extra_features, n)
        clash = next((name for name in given if name in standard), None)
        if clash is not None:
            raise FeatureError(f"a feature named {clash!r} already exists")
    names = standard + tuple(given)
    if not names:
        raise FeatureError("no features to read out")
    space_name = "after_space" if "after_space" in standard else None
    stream = FeatureStream(session.x, standard if space_name else standard + ("after_space",), session.chunk)
    keys = names if space_name else names + (None,)  # None: the space reset's after_space, not read out

    def chunks():
        for t0, t1, streamed in stream.chunks():
            values = {name: given[name][t0:t1] if name in given else streamed[name] for name in names}
            if space_name is None:
                values[None] = streamed["after_space"]
            yield t0, t1, values

    state_moments, moments = lane_moments(session, chunks(), keys, progress, should_stop)
    space_moments = moments.pop(None) if space_name is None else moments[space_name]
    return factor_map_from_moments(session.model, state_moments, moments, space_moments, min_support)


def factor_map_from_moments(model, states: StateMoments, moments: Mapping[str, FeatureMoments],
                            space_moments: FeatureMoments, min_support: int = MIN_SUPPORT) -> FactorMap:
    """Assemble the :class:`FactorMap` from accumulated moments (``model`` gives Wx and Wh)."""
    readouts = {name: readout_from_moments(name, states, m, min_support) for name, m in moments.items()}
    names = tuple(readouts)
    U = np.array([readouts[k].cov_direction for k in names])
    V = np.array([readouts[k].pc1_direction for k in names])
    Wx = np.asarray(model.Wx, np.float64)
    columns = Wx[:, list(INPUT_BYTES.values())].T
    norms = np.linalg.norm(columns, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_cols = columns / norms[:, None]
    propagations = {k: propagate(model.Wh, ro.pc1_direction, ro.subspace)
                    for k, ro in readouts.items() if ro.has_pca}
    return FactorMap(
        n=states.n, min_support=min_support, readouts=readouts,
        direction_cosines=DirectionCosines(names, U @ U.T),
        input_cosines=InputCosines(tuple(INPUT_BYTES), tuple(INPUT_BYTES.values()), names, norms,
                                   unit_cols @ V.T, unit_cols @ U.T),
        space_reset=_space_reset(states, space_moments),
        propagations=propagations,
    )


def _space_reset(states: StateMoments, space: FeatureMoments) -> float:
    """``||E[h | after_space = 1] - E[h | after_space = 0]||`` (NaN when either side is empty)."""
    if space.value_counts.get(1.0, 0) == 0 or space.value_counts.get(0.0, 0) == 0:
        return float("nan")
    diff = space.value_sums[1.0] / space.value_counts[1.0] - space.value_sums[0.0] / space.value_counts[0.0]
    return float(np.linalg.norm(diff))
