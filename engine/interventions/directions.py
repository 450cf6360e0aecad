"""Directions in the hidden space: unit vectors from arrays, neuron axes, seeds and vector files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from factormap.engine.errors import FactormapError


def unit(vector, H: int | None = None, what: str = "the direction") -> np.ndarray:
    """``v / ||v||`` as a read-only float64 array; one-sentence errors for bad vectors.

    Parameters
    ----------
    vector : array-like of length H.
    H : the expected length, checked when given.
    what : how error messages name the vector.
    """
    v = np.array(vector, dtype=np.float64).ravel()
    if H is not None and v.shape[0] != H:
        raise FactormapError(f"{what} has {v.shape[0]} components but the model has H = {H}.")
    if not np.all(np.isfinite(v)):
        raise FactormapError(f"{what} contains NaN or infinite values.")
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        raise FactormapError(f"{what} is the zero vector, which has no direction.")
    v /= norm
    v.setflags(write=False)
    return v


def feature_direction(factor_map, feature: str, which: str = "cov") -> np.ndarray:
    """A feature's direction from a :class:`~factormap.engine.factor_map.FactorMap`, unit float64.

    ``which="cov"`` gives ``u_f = Cov(h, f)/||Cov(h, f)||``; ``which="pc1"`` gives ``v_f``, the first
    principal axis of the feature's conditional means. One-sentence errors when the feature is
    absent or the direction does not exist (a constant feature, fewer than two supported values).
    """
    readout = factor_map.readouts.get(feature)
    if readout is None:
        raise FactormapError(f"the factor map has no feature {feature!r}; it has {', '.join(factor_map.readouts)}.")
    if which not in ("cov", "pc1"):
        raise FactormapError(f"which must be 'cov' or 'pc1', not {which!r}.")
    vector = readout.cov_direction if which == "cov" else readout.pc1_direction
    symbol = f"{'u' if which == 'cov' else 'v'}_{feature}"
    if not np.any(vector):
        raise FactormapError(f"{symbol} is the zero vector: the hidden states do not vary with {feature} on "
                             f"this text (constant states, or a constant feature), so it has no direction.")
    return unit(vector, what=symbol)


def neuron_axis(unit_index: int, H: int) -> np.ndarray:
    """The standard basis vector ``e_j`` of hidden unit ``j = unit_index``."""
    if not 0 <= unit_index < H:
        raise FactormapError(f"unit {unit_index} does not exist; units are 0..{H - 1}.")
    e = np.zeros(H)
    e[unit_index] = 1.0
    e.setflags(write=False)
    return e


def random_unit_direction(seed: int, H: int) -> np.ndarray:
    """``g / ||g||`` for ``g ~ N(0, I_H)`` drawn by ``numpy.random.default_rng(seed)``."""
    return unit(np.random.default_rng(seed).standard_normal(H))


def nudged(direction: np.ndarray, rng: np.random.Generator, eps: float) -> np.ndarray:
    """``unit(u + eps * g / sqrt(H))``, ``g ~ N(0, I_H)``: a direction about ``eps`` away from u."""
    u = np.asarray(direction, np.float64)
    return unit(u + eps * rng.standard_normal(u.shape[0]) / np.sqrt(u.shape[0]))


def load_direction(path: str | os.PathLike, H: int) -> np.ndarray:
    """A unit direction read from a vector file: ``.npy``, or text with H numbers.

    Text files hold the H components separated by whitespace or commas (``#`` starts a comment).
    The vector is normalised to unit length.

    Raises
    ------
    FactormapError
        With one sentence when the file is missing, unreadable, the wrong length, non-finite or zero.
    """
    p = Path(path)
    if not p.is_file():
        raise FactormapError(f"{p}: no such vector file.")
    try:
        if p.suffix == ".npy":
            data = np.load(p, allow_pickle=False)
        else:
            lines = (line.split("#", 1)[0] for line in p.read_text().splitlines())
            data = np.array([float(tok) for line in lines for tok in line.replace(",", " ").split()])
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise FactormapError(f"{p}: not a vector file of numbers ({exc.__class__.__name__}).") from None
    if data.ndim != 1 and not (data.ndim == 2 and 1 in data.shape):
        raise FactormapError(f"{p}: expected one vector, found an array of shape {data.shape}.")
    return unit(data, H, what=str(p))
