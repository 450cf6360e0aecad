"""The research's edits, defined once: the report's table (:mod:`.suite`) and the app's
interventions pane both build their specs from :func:`feature_edits` and :data:`CONTROL_EDITS`.

For a standard feature f with short name s and covariance direction ``u_f`` (from the factor map):

- ``subtract_each_step.f``: :class:`SubtractEachStep` of ``u_f`` (its residual readout refits f);
- ``subtract_at_readout.f``: :class:`SubtractAtReadout` of ``u_f``;
- ``write_in_oracle.f.linear`` / ``.conditional_mean``: :class:`WriteInOracle` along ``u_f``, its
  values fitted on the states (:func:`.oracle.fit_write_in_oracle`);
- ``edit_weights.f.left`` / ``.right``: :class:`EditWeights` projecting the top PC of f's
  conditional means out of ``Wh`` (needs that PCA).

The controls, which need no factor map: ``random_direction.seed_0`` (:class:`RandomDirection`
seed 0) and ``ablate_neuron`` (:class:`AblateNeurons` of the selected neuron, zeroed at every step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from factormap.engine.errors import FactormapError
from factormap.engine.interventions.directions import feature_direction
from factormap.engine.interventions.oracle import fit_write_in_oracle
from factormap.engine.interventions.specs import (
    EACH_STEP,
    AblateNeurons,
    EditWeights,
    InterventionSpec,
    RandomDirection,
    SubtractAtReadout,
    SubtractEachStep,
)

#: The standard features the research edits, with the short names that label their directions.
FEATURES = {"word_len": "wl", "in_tag": "tag"}

#: What the values of each feature are called in a message.
VALUE_NOUNS = {"word_len": "word lengths", "in_tag": "in-tag values"}

#: Features whose table also has the write-in oracle and the weight edits (the research's choice).
FULL_TABLE = ("word_len",)


@dataclass(frozen=True)
class EditContext:
    """What building an edit may read.

    Parameters
    ----------
    session : Session
        The baseline session.
    factor_map : FactorMap or None
        The factor map, for edits of a feature direction (None for the controls).
    neuron : int
        The selected neuron (for ``ablate_neuron``).
    progress, should_stop : callable or None
        For builders that pass over the text (the oracle's fit): report a fraction, stop early.
    """

    session: object
    factor_map: object | None = None
    neuron: int = 0
    progress: Callable[[float], None] | None = None
    should_stop: Callable[[], bool] | None = None


@dataclass(frozen=True)
class ResearchEdit:
    """One edit of the research, and how to build its spec.

    Parameters
    ----------
    key : str
        Dotted name, e.g. ``subtract_each_step.word_len`` (the report's JSON prefix).
    label : str
        A short label (``{neuron}`` is filled with the selected neuron).
    abbreviation : str
        At most 8 characters, for narrow panes.
    build : callable
        ``build(ctx: EditContext) -> spec``.
    feature : str
        The standard feature whose factor-map readout the edit needs, or "" for none.
    residual_of : str
        The feature refitted on the edited states after the run (the residual readout), or "".
    needs_pca : bool
        True when the edit needs the PCA of the feature's conditional means.
    fits_on_text : bool
        True when building passes over the text (the oracle fits its values on the states), so
        ``ctx.progress`` and ``ctx.should_stop`` are used.
    """

    key: str
    label: str
    abbreviation: str
    build: Callable[[EditContext], InterventionSpec]
    feature: str = ""
    residual_of: str = ""
    needs_pca: bool = False
    fits_on_text: bool = False

    def available(self, factor_map) -> bool:
        """False when the factor map lacks what the edit needs (the PCA of too few supported values)."""
        return not self.needs_pca or factor_map.readouts[self.feature].has_pca


def _cov_direction(ctx: EditContext, feature: str):
    return feature_direction(ctx.factor_map, feature)


def _top_pc_edit(ctx: EditContext, feature: str, side: str) -> EditWeights:
    readout = ctx.factor_map.readouts[feature]
    if not readout.has_pca:
        raise FactormapError(f"this text has too few {VALUE_NOUNS[feature]} with enough support for a principal "
                             "component of their conditional means, so there is no weight edit to make.")
    return EditWeights.top_components(readout.pca_components, 1, side, name=f"PC1 of E[h|{FEATURES[feature]}]")


def feature_edits(feature: str) -> tuple[ResearchEdit, ...]:
    """The edits of standard feature ``feature``'s direction, in table order."""
    s = FEATURES[feature]
    name = f"u_{s}"
    edits = [
        ResearchEdit(f"subtract_each_step.{feature}", f"−{name} every step", f"−{s} step",
                     lambda ctx: SubtractEachStep(_cov_direction(ctx, feature), name), feature, residual_of=feature),
        ResearchEdit(f"subtract_at_readout.{feature}", f"−{name} at readout", f"−{s} read",
                     lambda ctx: SubtractAtReadout(_cov_direction(ctx, feature), name), feature),
    ]
    if feature not in FULL_TABLE:
        return tuple(edits)
    for variant, label in (("linear", "write-in oracle"), ("conditional_mean", "oracle E[h|f]")):
        edits.append(ResearchEdit(
            f"write_in_oracle.{feature}.{variant}", f"{label} {name}", "oracle" if variant == "linear" else "oracle E",
            lambda ctx, variant=variant: fit_write_in_oracle(ctx.session, _cov_direction(ctx, feature), feature,
                                                             variant, name=name, progress=ctx.progress,
                                                             should_stop=ctx.should_stop),
            feature, fits_on_text=True))
    for side in ("left", "right"):
        edits.append(ResearchEdit(f"edit_weights.{feature}.{side}", f"edit Wh{'' if side == 'left' else 'ᵀ'}: −{s} PC1",
                                  "edit Wh" if side == "left" else "edit Whᵀ",
                                  lambda ctx, side=side: _top_pc_edit(ctx, feature, side), feature, needs_pca=True))
    return tuple(edits)


#: Edits that need no factor map: a random direction (the control) and the selected neuron's ablation.
CONTROL_EDITS: tuple[ResearchEdit, ...] = (
    ResearchEdit("random_direction.seed_0", "random dir (seed 0)", "random", lambda ctx: RandomDirection(0)),
    ResearchEdit("ablate_neuron", "ablate h[{neuron}]", "h[{neuron}]=0",
                 lambda ctx: AblateNeurons((ctx.neuron,), mode="zero", where=EACH_STEP)),
)


def research_edit(key: str) -> ResearchEdit:
    """The edit named ``key`` (a key of :func:`feature_edits` of a standard feature, or of the controls)."""
    for edit in (*CONTROL_EDITS, *(e for f in FEATURES for e in feature_edits(f))):
        if edit.key == key:
            return edit
    raise KeyError(key)
