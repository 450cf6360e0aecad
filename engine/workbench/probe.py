"""What the inspector looks at: one hidden unit, or the projection of the state on a direction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.interventions.directions import neuron_axis, unit


@dataclass(frozen=True, eq=False)
class Probe:
    """A scalar read from every hidden state: ``a_t = h_t . u`` for a unit vector u.

    A neuron j is the axis ``u = e_j`` (so ``a_t = h_t[j]``); a direction is any unit vector
    (a feature's ``u_f``, a vector file's direction).

    Attributes
    ----------
    direction
        (H,) read-only unit float64 vector u.
    name
        how the probe is named to the user (``h[17]``, ``u_word_len``).
    neuron
        the unit j when the probe is a neuron axis, else None.
    """

    direction: np.ndarray
    name: str
    neuron: int | None = None

    @classmethod
    def of_neuron(cls, j: int, H: int) -> "Probe":
        """The probe ``a_t = h_t[j]``; one-sentence error for a unit outside 0..H-1."""
        return cls(neuron_axis(int(j), H), f"h[{int(j)}]", int(j))

    @classmethod
    def of_direction(cls, direction, name: str) -> "Probe":
        """The probe ``a_t = h_t . u`` with ``u = direction / ||direction||``."""
        if not name:
            raise FactormapError("a direction probe needs a name.")
        return cls(unit(direction, what=name), name)

    @property
    def H(self) -> int:
        """Hidden size the probe applies to."""
        return self.direction.shape[0]

    def values(self, states: np.ndarray) -> np.ndarray:
        """``a_t`` of a block of states (rows h_t), float64.

        A neuron reads its column exactly; a direction is ``states.astype(float64) @ u``.
        """
        if self.neuron is not None:
            return states[:, self.neuron].astype(np.float64)
        return states.astype(np.float64) @ self.direction
