"""How the recurrent weights carry a direction of the hidden space forward: ``Wh`` applied to ``v``.

This is the linear part of one step of the recurrence (no tanh, no input, no bias): it says whether
the network's own dynamics amplify a feature direction, keep it pointing the same way, and keep it
inside the feature's subspace. Powers ``Wh^k v`` show the growth of the purely linear map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Powers k = 1..POWERS of ``Wh^k v`` are reported.
POWERS = 16


@dataclass(frozen=True)
class Propagation:
    """One direction carried through ``Wh`` (float64, read-only arrays).

    Attributes
    ----------
    v
        the direction, normalised to unit length, (H,).
    Wh_v
        ``Wh @ v`` (H,).
    norm_Wh_v
        ``||Wh v||`` (the amplification of a unit direction).
    cos_Wh_v_v
        ``cos(Wh v, v) = (Wh v . v) / ||Wh v||`` (self-alignment).
    subspace_share
        ``||P_S Wh v|| / ||Wh v||``, the share of ``Wh v`` left in the subspace S
        spanned by the given orthonormal rows (P_S = S^T S); NaN when no subspace was given.
    subspace_dim
        number of rows of S (0 when none was given).
    power_norms
        ``||Wh^k v||`` for k = 1..len(power_norms) (plain linear powers, no tanh).
    """

    v: np.ndarray
    Wh_v: np.ndarray
    norm_Wh_v: float
    cos_Wh_v_v: float
    subspace_share: float
    subspace_dim: int
    power_norms: np.ndarray

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def power_norm(self, k: int) -> float:
        """``||Wh^k v||`` for 1 <= k <= len(power_norms)."""
        return float(self.power_norms[k - 1])

    def to_dict(self) -> dict:
        """JSON-ready figures under keys naming the quantity (``power_norms[k-1]`` is ``||Wh^k v||``)."""
        return {
            "wh_v_norm": self.norm_Wh_v,
            "cos_wh_v_v": self.cos_Wh_v_v,
            "subspace_share": self.subspace_share,
            "subspace_dim": self.subspace_dim,
            "power_norms": self.power_norms.tolist(),
        }


def propagate(Wh: np.ndarray, v: np.ndarray, subspace: np.ndarray | None = None,
              powers: int = POWERS) -> Propagation:
    """Carry the direction ``v`` through ``Wh`` once and ``powers`` times (float64).

    Parameters
    ----------
    Wh : (H, H) recurrent weights.
    v : (H,) direction; normalised to unit length first (a zero vector is refused).
    subspace : (k, H) orthonormal rows spanning S, or None (then ``subspace_share`` is NaN).
    powers : how many powers ``||Wh^k v||``, k = 1..powers, to compute.

    Returns
    -------
    Propagation
        ``||Wh v||``, ``cos(Wh v, v)``, ``||P_S Wh v|| / ||Wh v||`` and ``||Wh^k v||``.
    """
    Wh = np.asarray(Wh, np.float64)
    v = np.asarray(v, np.float64)
    if Wh.ndim != 2 or Wh.shape[0] != Wh.shape[1]:
        raise ValueError(f"Wh must be square, got shape {Wh.shape}")
    if v.shape != (Wh.shape[0],):
        raise ValueError(f"v has shape {v.shape}, expected ({Wh.shape[0]},)")
    norm_v = np.linalg.norm(v)
    if not np.isfinite(norm_v) or norm_v == 0:
        raise ValueError("v must be a finite, nonzero direction")
    v = v / norm_v
    Wh_v = Wh @ v
    norm = float(np.linalg.norm(Wh_v))
    cos = float(Wh_v @ v / norm) if norm > 0 else float("nan")
    share, dim = float("nan"), 0
    if subspace is not None:
        S = np.atleast_2d(np.asarray(subspace, np.float64))
        if S.shape[1] != v.size:
            raise ValueError(f"subspace rows have length {S.shape[1]}, expected {v.size}")
        dim = S.shape[0]
        share = float(np.linalg.norm(S @ Wh_v) / norm) if norm > 0 else float("nan")
    power_norms = np.empty(powers)
    p = v
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float64 the norm is inf, and says so
        for k in range(powers):
            p = Wh @ p
            power_norms[k] = np.linalg.norm(p)
    return Propagation(v=v, Wh_v=Wh_v, norm_Wh_v=norm, cos_Wh_v_v=cos, subspace_share=share,
                       subspace_dim=dim, power_norms=power_norms)
