"""The rows of the interventions pane: which engine spec each row switches on, and its short name.

Each row builds its spec from the session, the factor map (for the word-length direction u_wl and
the conditional-mean PCs) and the selected neuron. Building may cost a pass over the text (the
write-in oracle fits its values on the states), so it runs in the row's worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from factormap.engine.factor_map import FactorMap
from factormap.engine.features import word_len
from factormap.engine.interventions.oracle import fit_write_in_oracle
from factormap.engine.interventions.specs import (
    EACH_STEP,
    AblateNeurons,
    EditWeights,
    RandomDirection,
    SubtractAtReadout,
    SubtractEachStep,
)
from factormap.engine.session import Session

WORD_LEN = "word_len"
"""The factor map's name of the feature whose direction the rows edit."""
RANDOM_SEED = 0
"""Seed of the random-direction control row."""

SpecBuilder = Callable[[Session, "FactorMap | None", int], object]


@dataclass(frozen=True)
class InterventionRow:
    """One switchable edit.

    Attributes:
        name: a short label for the row (the spec's ``describe()`` gives the full sentence).
        needs_factor_map: True when the spec is built from the factor map.
        build: ``build(session, factor_map, selected_neuron) -> spec``.
    """

    name: str
    needs_factor_map: bool
    build: SpecBuilder

    def label(self, selected_neuron: int) -> str:
        """The row's short label, with the selected neuron filled in."""
        return self.name.format(neuron=selected_neuron)


def _u_wl(factor_map: FactorMap):
    return factor_map.readouts[WORD_LEN].cov_direction


ROWS: tuple[InterventionRow, ...] = (
    InterventionRow("−u_wl every step", True,
                    lambda s, fm, j: SubtractEachStep(_u_wl(fm), name="u_wl")),
    InterventionRow("−u_wl at readout", True,
                    lambda s, fm, j: SubtractAtReadout(_u_wl(fm), name="u_wl")),
    InterventionRow("write-in oracle u_wl", True,
                    lambda s, fm, j: fit_write_in_oracle(s, _u_wl(fm), word_len(s.x), "linear", name="u_wl")),
    InterventionRow(f"random dir (seed {RANDOM_SEED})", False,
                    lambda s, fm, j: RandomDirection(RANDOM_SEED)),
    InterventionRow("ablate h[{neuron}]", False,
                    lambda s, fm, j: AblateNeurons((j,), mode="zero", where=EACH_STEP)),
    InterventionRow("edit Wh: −wl PC1", True,
                    lambda s, fm, j: EditWeights.top_components(fm.readouts[WORD_LEN].pca_components, m=1,
                                                                name="the word_len conditional means")),
)
"""The pane's rows, in key order (row i is toggled by key i+1)."""
