"""Intervention specs: small immutable objects, each named for its effect, with a one-line ``describe()``.

Every spec follows :class:`InterventionSpec` (a state edit :class:`StateSpec`, a weight edit
:class:`WeightSpec`) and has a ``stage`` saying what it edits (see :mod:`factormap.engine.interventions.plan` for
the order in which stages compose):

- ``"weights"``: the recurrent matrix Wh, once, before the text is run;
- ``"each_step"``: the state after the tanh at every step (feeds the recurrence and the readout);
- ``"readout"``: only the state the readout sees (the recurrence runs untouched).

State specs compile to rank-one edits ``(u, alpha, beta_t)`` (:mod:`...interventions.edits`).
Directions are stored as read-only unit float64 vectors; ``name`` labels them in ``describe()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.interventions.directions import nudged, random_unit_direction, unit
from factormap.engine.interventions.oracle_values import OracleValues

EACH_STEP, READOUT, WEIGHTS = "each_step", "readout", "weights"
_WHERE = {EACH_STEP: "at every step", READOUT: "at the readout only"}


#: What a spec of each stage edits, in one line.
STAGE_EDITS = {
    WEIGHTS: "the recurrent weights Wh, before the text is run",
    EACH_STEP: "the state after the tanh at every step (feeds the recurrence and the readout)",
    READOUT: "only the state the readout sees (the recurrence runs untouched)",
}


@runtime_checkable
class InterventionSpec(Protocol):
    """What every spec offers: its stage, a one-line description, and a nudged copy (for bands)."""

    @property
    def stage(self) -> str:
        """``"weights"``, ``"each_step"`` or ``"readout"``."""

    def describe(self) -> str:
        """One line for the app and the report."""

    def nudged(self, rng: np.random.Generator, eps: float) -> "InterventionSpec":
        """The same edit with its direction(s) moved about ``eps`` (a sensitivity band's re-run)."""


@runtime_checkable
class StateSpec(InterventionSpec, Protocol):
    """A spec of stage ``each_step`` or ``readout``: it compiles to rank-one state edits."""

    def state_edits(self, ctx) -> list:
        """``[(u, alpha, beta_t), ...]`` for the run context ``ctx`` (:mod:`...interventions.edits`)."""


@runtime_checkable
class WeightSpec(InterventionSpec, Protocol):
    """A spec of stage ``weights``: it edits Wh once, before the text is run."""

    def apply(self, Wh: np.ndarray) -> np.ndarray:
        """The edited Wh, float64."""


def edits_of(spec) -> str:
    """One line saying what ``spec`` edits (its stage's entry of :data:`STAGE_EDITS`)."""
    return STAGE_EDITS[spec.stage]


def _label(name: str) -> str:
    return name or "u"


def _set(obj, **values) -> None:
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def _check_where(where: str) -> None:
    if where not in _WHERE:
        raise FactormapError(f"where must be 'each_step' or 'readout', not {where!r}.")


@dataclass(frozen=True, eq=False)
class SubtractEachStep:
    """After the tanh at every step, ``h <- h - (h . u) u``: the edit feeds recurrence and readout."""

    direction: np.ndarray
    name: str = ""
    stage: ClassVar[str] = EACH_STEP

    def __post_init__(self) -> None:
        _set(self, direction=unit(self.direction))

    def describe(self) -> str:
        """One line for the app."""
        return f"subtract {_label(self.name)} at every step (feeds the recurrence and the readout)"

    def state_edits(self, ctx) -> list:
        """``[(u, 0, 0)]``."""
        return [(ctx.check(self.direction), 0.0, 0.0)]

    def nudged(self, rng: np.random.Generator, eps: float) -> "SubtractEachStep":
        """The same edit along a direction about ``eps`` away."""
        return replace(self, direction=nudged(self.direction, rng, eps))


@dataclass(frozen=True, eq=False)
class SubtractAtReadout:
    """``h <- h - (h . u) u`` on the state the readout sees only; the recurrence runs untouched."""

    direction: np.ndarray
    name: str = ""
    stage: ClassVar[str] = READOUT

    def __post_init__(self) -> None:
        _set(self, direction=unit(self.direction))

    def describe(self) -> str:
        """One line for the app."""
        return f"subtract {_label(self.name)} from the state the readout sees (recurrence untouched)"

    def state_edits(self, ctx) -> list:
        """``[(u, 0, 0)]``."""
        return [(ctx.check(self.direction), 0.0, 0.0)]

    def nudged(self, rng: np.random.Generator, eps: float) -> "SubtractAtReadout":
        """The same edit along a direction about ``eps`` away."""
        return replace(self, direction=nudged(self.direction, rng, eps))


@dataclass(frozen=True, eq=False)
class WriteInOracle:
    """At every step set ``h . u`` to ``values[t]``, the value the true feature implies at t.

    ``h <- h + (values[t] - h . u) u``. ``variant`` labels how the values were made
    (``"linear"``: the fit ``a f_t + c`` of ``h . u`` on f; ``"conditional_mean"``:
    ``E[h . u | f = f_t]``); see :func:`factormap.engine.interventions.oracle.fit_write_in_oracle`.
    ``values`` is an (n,) array of finite numbers (kept as a read-only float64 copy), or the
    :class:`~factormap.engine.interventions.oracle_values.OracleValues` of a fit, which computes
    them range by range from the feature (no per-position array).
    """

    direction: np.ndarray
    values: np.ndarray | OracleValues
    variant: str = "linear"
    name: str = ""
    stage: ClassVar[str] = EACH_STEP

    def __post_init__(self) -> None:
        if self.variant not in ("linear", "conditional_mean"):
            raise FactormapError(f"variant must be 'linear' or 'conditional_mean', not {self.variant!r}.")
        values = self.values
        if not isinstance(values, OracleValues):
            values = np.array(values, np.float64).ravel()
            if not np.all(np.isfinite(values)):
                raise FactormapError("the oracle values contain NaN or infinite numbers.")
            values.setflags(write=False)
        _set(self, direction=unit(self.direction), values=values)

    def describe(self) -> str:
        """One line for the app."""
        return f"write the {self.variant.replace('_', '-')} oracle value into {_label(self.name)} at every step"

    def state_edits(self, ctx) -> list:
        """``[(u, 0, values)]``."""
        if self.values.shape[0] != ctx.n:
            raise FactormapError(f"the oracle has {self.values.shape[0]} values but the text has {ctx.n} bytes.")
        return [(ctx.check(self.direction), 0.0, self.values)]

    def nudged(self, rng: np.random.Generator, eps: float) -> "WriteInOracle":
        """The same values written along a direction about ``eps`` away."""
        return replace(self, direction=nudged(self.direction, rng, eps))


@dataclass(frozen=True, eq=False)
class RandomDirection:
    """The control: subtract at every step the seeded random unit direction ``random_unit_direction(seed, H)``."""

    seed: int
    stage: ClassVar[str] = EACH_STEP

    def describe(self) -> str:
        """One line for the app."""
        return f"subtract a random direction (seed {self.seed}) at every step: the control"

    def state_edits(self, ctx) -> list:
        """``[(g / ||g||, 0, 0)]``."""
        return [(random_unit_direction(self.seed, ctx.H), 0.0, 0.0)]

    def nudged(self, rng: np.random.Generator, eps: float) -> SubtractEachStep:
        """Nudging needs H: resolve the direction first (:func:`...plan.resolved`)."""
        raise TypeError("resolve a RandomDirection for a hidden size before nudging it")

    def resolve(self, H: int) -> SubtractEachStep:
        """The equivalent :class:`SubtractEachStep` for hidden size H."""
        return SubtractEachStep(random_unit_direction(self.seed, H), name=f"random(seed {self.seed})")


@dataclass(frozen=True, eq=False)
class AblateNeurons:
    """Set the chosen units to 0 (``mode="zero"``) or to their mean over the baseline states
    of the whole text (``mode="mean"``), after the tanh at every step or at the readout only."""

    units: tuple[int, ...] = field(default_factory=tuple)
    mode: str = "zero"
    where: str = EACH_STEP

    def __post_init__(self) -> None:
        if self.mode not in ("zero", "mean"):
            raise FactormapError(f"mode must be 'zero' or 'mean', not {self.mode!r}.")
        _check_where(self.where)
        _set(self, units=tuple(int(j) for j in self.units))

    @property
    def stage(self) -> str:
        """``where``."""
        return self.where

    def describe(self) -> str:
        """One line for the app."""
        units = ", ".join(str(j) for j in self.units) or "no units"
        value = "zero" if self.mode == "zero" else "their mean"
        return f"set units {units} to {value} {_WHERE[self.where]}"

    def state_edits(self, ctx) -> list:
        """``[(e_j, 0, 0 or mean_j)]`` per unit."""
        for j in self.units:
            if not 0 <= j < ctx.H:
                raise FactormapError(f"unit {j} does not exist; units are 0..{ctx.H - 1}.")
        means = ctx.unit_means() if self.mode == "mean" and self.units else None
        return [(np.eye(1, ctx.H, j)[0], 0.0, 0.0 if means is None else float(means[j])) for j in self.units]

    def nudged(self, rng: np.random.Generator, eps: float) -> "AblateNeurons":
        """Unchanged: a neuron axis has no neighbours to nudge to."""
        return self


@dataclass(frozen=True, eq=False)
class ScaleDirection:
    """Multiply the component along u by ``alpha``: ``h <- h + (alpha - 1)(h . u) u``.

    ``alpha = 0`` is subtraction, ``alpha = 1`` changes nothing.
    """

    direction: np.ndarray
    alpha: float
    where: str = EACH_STEP
    name: str = ""

    def __post_init__(self) -> None:
        if not np.isfinite(self.alpha):
            raise FactormapError(f"alpha must be a finite number, not {self.alpha}.")
        _check_where(self.where)
        _set(self, direction=unit(self.direction), alpha=float(self.alpha))

    @property
    def stage(self) -> str:
        """``where``."""
        return self.where

    def describe(self) -> str:
        """One line for the app."""
        return f"scale {_label(self.name)} by alpha = {self.alpha:g} {_WHERE[self.where]}"

    def state_edits(self, ctx) -> list:
        """``[(u, alpha, 0)]``."""
        return [(ctx.check(self.direction), self.alpha, 0.0)]

    def nudged(self, rng: np.random.Generator, eps: float) -> "ScaleDirection":
        """The same scaling along a direction about ``eps`` away."""
        return replace(self, direction=nudged(self.direction, rng, eps))


@dataclass(frozen=True, eq=False)
class EditWeights:
    """Project a subspace out of Wh: ``Wh' = (I - V V^T) Wh`` (``side="left"``: Wh can no longer
    write into span V) or ``Wh' = Wh (I - V V^T)`` (``side="right"``: Wh no longer reads span V).

    ``V`` is (H, m); its columns are orthonormalised (QR) on construction. Typically the top-m PCs
    of a feature's conditional means (:meth:`top_components`).
    """

    V: np.ndarray
    side: str = "left"
    name: str = ""
    stage: ClassVar[str] = WEIGHTS

    def __post_init__(self) -> None:
        if self.side not in ("left", "right"):
            raise FactormapError(f"side must be 'left' or 'right', not {self.side!r}.")
        V = np.array(self.V, np.float64)
        V = V[:, None] if V.ndim == 1 else V
        if V.ndim != 2 or V.shape[1] == 0 or not np.all(np.isfinite(V)):
            raise FactormapError("V must be a finite (H, m) array with m >= 1 columns.")
        if np.linalg.matrix_rank(V) < V.shape[1]:
            raise FactormapError("the columns of V are linearly dependent.")
        Q = np.linalg.qr(V)[0]
        Q.setflags(write=False)
        _set(self, V=Q)

    @classmethod
    def top_components(cls, components: np.ndarray, m: int = 1, side: str = "left",
                       name: str = "") -> "EditWeights":
        """From PCA ``components`` given as rows (m_total, H): V = the first m rows as columns."""
        rows = np.asarray(components, np.float64)
        if not 1 <= m <= rows.shape[0]:
            raise FactormapError(f"m must lie in 1..{rows.shape[0]}, not {m}.")
        return cls(rows[:m].T, side=side, name=name)

    def describe(self) -> str:
        """One line for the app."""
        what = self.name or f"{self.V.shape[1]} direction(s)"
        formula = "(I − V Vᵀ) Wh" if self.side == "left" else "Wh (I − V Vᵀ)"
        return f"edit weights: Wh ← {formula}, V = {what}"

    def apply(self, Wh: np.ndarray) -> np.ndarray:
        """The edited Wh, float64."""
        if self.V.shape[0] != Wh.shape[0]:
            raise FactormapError(f"V has {self.V.shape[0]} rows but the model has H = {Wh.shape[0]}.")
        W = np.asarray(Wh, np.float64)
        V = self.V
        # one direction: a broadcast product, the same single rounding per entry as the k = 1
        # matrix product, which cost BLAS 33 us of a 1.5 ms edited run at H = 128
        times = np.matmul if V.shape[1] > 1 else np.multiply
        if self.side == "left":
            return W - times(V, V.T @ W)
        return W - times(W @ V, V.T)

    def nudged(self, rng: np.random.Generator, eps: float) -> "EditWeights":
        """The same edit with every column of V moved about ``eps`` (itself for ``eps == 0``: a
        re-orthonormalised V would differ in the last bits)."""
        if eps == 0:
            return self
        return replace(self, V=np.column_stack([nudged(v, rng, eps) for v in self.V.T]))
