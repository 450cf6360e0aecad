"""Compiling a list of specs against a session into one plan, in the documented order.

Composition order (whatever the order of the list between stages):

1. ``"weights"`` specs edit Wh, in list order (each sees the Wh the previous one left);
2. ``"each_step"`` specs edit the state after the tanh at every step, in list order; the edited
   state feeds the next step and the readout;
3. ``"readout"`` specs edit, in list order, a copy of the state handed to the readout only.

An edit that provably changes nothing (``ScaleDirection`` with alpha = 1, an empty unit list) is
dropped, so such a plan reproduces the baseline bits exactly.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.interventions.edits import StateEdits, is_constant
from factormap.engine.interventions.specs import EACH_STEP, READOUT, WEIGHTS, RandomDirection
from factormap.engine.model import Model

_STATS_CHUNK = 1 << 16
_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def resolved(specs, H: int) -> list:
    """``specs`` with every :class:`RandomDirection` replaced by its ``SubtractEachStep`` for H."""
    return [s.resolve(H) if isinstance(s, RandomDirection) else s for s in specs]


def unit_means(session) -> np.ndarray:
    """``mean_t h_t`` over every position of the session's baseline states, float64 (H,), read-only.

    Remembered per session (a whole pass over a long text), so toggling a mean ablation is cheap.
    """
    means = _MEANS.get(session)
    if means is None:
        total = np.zeros(session.H)
        for t0 in range(0, session.n, _STATS_CHUNK):
            total += session.states(t0, min(session.n, t0 + _STATS_CHUNK)).sum(axis=0, dtype=np.float64)
        means = total / session.n
        means.setflags(write=False)
        _MEANS[session] = means
    return means


class _Context:
    """What specs may ask while compiling: H, n, direction checks, the units' means."""

    def __init__(self, session) -> None:
        self.session = session
        self.H = session.H
        self.n = session.n
        self._means: np.ndarray | None = None

    def check(self, direction: np.ndarray) -> np.ndarray:
        if direction.shape[0] != self.H:
            raise FactormapError(f"a direction has {direction.shape[0]} components but the model has H = {self.H}.")
        return direction

    def unit_means(self) -> np.ndarray:
        if self._means is None:
            self._means = unit_means(self.session)
        return self._means


@dataclass(frozen=True, eq=False)
class Plan:
    """A compiled set of interventions.

    Attributes
    ----------
    model
        the weights after every weight edit (the session's model when there is none).
    step
        the per-step state edits, in order.
    readout
        the readout-only state edits, in order.
    specs
        the specs, as given.
    """

    model: Model
    step: StateEdits
    readout: StateEdits
    specs: tuple

    @property
    def feeds_recurrence(self) -> bool:
        """True when the edited run's states differ from the baseline's (weight or per-step edits)."""
        return len(self.step) > 0 or any(s.stage == WEIGHTS for s in self.specs)

    def describe(self) -> list[str]:
        """One line per spec, in the order they compose."""
        order = {WEIGHTS: 0, EACH_STEP: 1, READOUT: 2}
        return [s.describe() for s in sorted(self.specs, key=lambda s: order[s.stage])]


def _is_identity(edit) -> bool:
    _, alpha, beta = edit
    return alpha == 1.0 and is_constant(beta) and beta == 0.0


def compile_plan(session, specs) -> Plan:
    """The plan of ``specs`` (any iterable of spec objects) for ``session``'s model and text."""
    specs = tuple(specs)
    ctx = _Context(session)
    model = session.model
    weight_specs = [s for s in specs if s.stage == WEIGHTS]
    if weight_specs:
        Wh = model.Wh.astype(np.float64)
        for s in weight_specs:
            Wh = s.apply(Wh)
        model = model.replace(Wh=Wh.astype(model.dtype))
    stages = {}
    for stage in (EACH_STEP, READOUT):
        edits = [e for s in specs if s.stage == stage for e in s.state_edits(ctx)]
        stages[stage] = StateEdits.concat(ctx.H, [e for e in edits if not _is_identity(e)])
    return Plan(model=model, step=stages[EACH_STEP], readout=stages[READOUT], specs=specs)
