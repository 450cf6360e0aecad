"""Replaying a session record headless: every figure the explorer showed, recomputed by the engine.

:func:`replay` walks the actions of a :class:`~factormap.engine.session_record.SessionRecord` in
order, keeping the explorer's state (cursor, lens, selected neuron, traces, active edits), and
computes, after each action, the figures that action made the explorer show:

- at the start and after each ``move``: the figures of the position (:func:`position_figures`);
- after an ``edit`` switched on (and after a ``neuron`` change, for edits of the selected neuron):
  the edit's figures (:func:`edit_figures`), and the combined ΔBPC when several are on;
- after ``traces``: the traced units' states at the cursor;
- after ``feature``: the user feature's factor-map readout (:func:`feature_figures`).

An ``edit`` names its research edit by ``key`` (:mod:`...interventions.table`, the table the app's
rows are built from), so :class:`TableEdits` rebuilds its spec; a caller with edits of its own passes
another :data:`EditBuilder`. Figures are plain JSON-ready data.

The walk is in :mod:`.walk`, the figures in :mod:`.figures`, the edits' recipes in :mod:`.recipes`.
"""

from factormap.engine.replay.figures import NULL_UNAVAILABLE, TOP_NEURONS, edit_figures, feature_figures, \
    position_figures
from factormap.engine.replay.recipes import USER_FEATURE_EDITS, EditBuilder, EditRecipe, TableEdits
from factormap.engine.replay.walk import NOT_REPLAYED, Replay, ReplayState, replay

__all__ = ["NOT_REPLAYED", "NULL_UNAVAILABLE", "TOP_NEURONS", "USER_FEATURE_EDITS", "EditBuilder", "EditRecipe",
           "Replay", "ReplayState", "TableEdits", "edit_figures", "feature_figures", "position_figures", "replay"]
