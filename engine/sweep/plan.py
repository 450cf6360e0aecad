"""The tasks of a sweep: each is one edit of one model, a whole-text ΔBPC computed on its own.

Edits (each task holds exactly one):

- ``ablate.J``: :class:`~factormap.engine.interventions.specs.AblateNeurons` of unit J, set to 0
  after the tanh at every step;
- ``random.S``: :class:`~factormap.engine.interventions.specs.RandomDirection` of seed S, the
  seeded null direction subtracted at every step (the same seeds as ``report``'s control);
- ``subtract_each_step.F`` / ``subtract_at_readout.F``: the feature F's covariance direction
  ``u_F = Cov(h, F)/||Cov(h, F)||`` (fitted on the model's baseline states over the whole text)
  subtracted at every step (with the residual readout r of F) or from the readout's copy only.

A task's key is ``MODEL_INDEX:EDIT`` inside one sweep; rows on disk name the model by its path.
"""

from __future__ import annotations

from dataclasses import dataclass

from factormap.engine.errors import FactormapError

ABLATE, RANDOM, EACH_STEP, AT_READOUT = "ablate", "random", "subtract_each_step", "subtract_at_readout"


@dataclass(frozen=True)
class SweepTask:
    """One whole-text pass of a sweep.

    Attributes
    ----------
    model
        index of the model in the sweep's models.
    kind
        ``ablate``, ``random``, ``subtract_each_step`` or ``subtract_at_readout``.
    target
        the unit (ablate), the seed (random) or the feature's name (subtractions).
    """

    model: int
    kind: str
    target: int | str

    @property
    def edit(self) -> str:
        """The edit's key, e.g. ``ablate.17`` (the same for every model)."""
        return f"{self.kind}.{self.target}"

    @property
    def key(self) -> str:
        """``MODEL_INDEX:EDIT``, unique within a sweep."""
        return f"{self.model}:{self.edit}"

    @property
    def needs_direction(self) -> bool:
        """True for the subtractions, which need the feature's direction fitted first."""
        return self.kind in (EACH_STEP, AT_READOUT)


def parse_units(text: str, H: int | None = None) -> tuple[int, ...]:
    """Units from ``"0-3,7,9-10"`` (inclusive ranges and single units), in the order given, once each.

    Raises
    ------
    FactormapError
        A part that is not a whole number or range ``A-B`` with A <= B, or a unit outside 0..H-1.
    """
    units: dict[int, None] = {}
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise FactormapError(f"expected units like 0-127 or 3,5,9, got {part.strip()!r}") from None
        if a < 0 or b < a:
            raise FactormapError(f"expected a range A-B with 0 <= A <= B, got {part.strip()!r}")
        if H is not None and b >= H:
            raise FactormapError(f"unit {b} does not exist; units are 0..{H - 1}")
        units.update(dict.fromkeys(range(a, b + 1)))
    return tuple(units)


def plan_sweep(n_models: int, *, units: tuple[int, ...] = (), random_n: int = 0, seed: int = 0,
               subtract: tuple[str, ...] = ()) -> list[SweepTask]:
    """Every task, model by model: ablations in unit order, random seeds ``seed .. seed+random_n-1``,
    then each feature's per-step and readout-only subtraction.

    Raises
    ------
    FactormapError
        No model, or no edit at all.
    """
    if n_models < 1:
        raise FactormapError("a sweep needs at least one model")
    edits = [(ABLATE, int(j)) for j in units]
    edits += [(RANDOM, int(s)) for s in range(seed, seed + random_n)]
    edits += [(kind, name) for name in dict.fromkeys(subtract) for kind in (EACH_STEP, AT_READOUT)]
    if not edits:
        raise FactormapError("nothing to sweep: give --ablate-neurons, --random-directions or --subtract")
    return [SweepTask(m, kind, target) for m in range(n_models) for kind, target in edits]
