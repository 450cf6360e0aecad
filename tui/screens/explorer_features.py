"""The user's live hypotheses: ``:feature NAME=REGEX``, ``:feature NAME=@FILE``, ``:features`` and
``:unfeature NAME`` at the explorer's ``:`` prompt. A mixin of
:class:`factormap.tui.screens.explorer.ExplorerScreen`.

Adding a feature reads it over the text (the engine parses the definition, RE2 syntax), records it,
and computes its factor-map entry in a thread worker: the best unit, the covariance and OLS
directions and their r. The covariance direction ``u_NAME`` is then traced as ``h·u_NAME`` on the
oscilloscope, the interventions pane gains two rows (subtract ``u_NAME`` at every step, at the
readout), and the inspector (``I``) correlates with the feature and offers ``u_NAME`` as a
probe. A bad definition is one line in the app.

``:target A`` attributes the prediction at the cursor to the byte A instead of the next byte,
``:target A B`` to the contrast ``ln p(A) − ln p(B)`` (bytes as characters or ``\\xNN`` escapes),
``:target`` alone goes back to the next byte; the attribution pane names the quantity in its title.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from textual.message import Message

from factormap.engine.errors import Cancelled, FactormapError
from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.readout import FeatureReadout
from factormap.tui import motions
from factormap.tui.fields import compact
from factormap.tui.recorder import contrast_fields

FEATURE_COMMANDS = {"feature": "NAME=REGEX (RE2) or NAME=@FILE (one number per byte): add a feature",
                    "features": "list the user features",
                    "unfeature": "NAME: remove a user feature",
                    "target": "A [B]: attribute ln p(A), or ln p(A) − ln p(B); alone: the next byte"}
"""Words of the ``:`` prompt for user features, with what they do."""


@dataclass
class UserFeatureReadout(Message):
    """A user feature's factor-map entry was computed (or failed: ``readout`` None, ``error`` said).

    Attributes:
        name: the feature.
        readout: its readout, or None.
        error: the one-sentence failure, or "".
    """

    name: str
    readout: FeatureReadout | None
    error: str = ""


def readout_summary(name: str, ro: FeatureReadout) -> str:
    """One line of a feature's factor-map entry: best unit, covariance and OLS r."""
    return (f"{name}: best unit h[{ro.best_neuron}] r {compact(ro.best_r, signed=True)}, "
            f"u_{name} r {compact(ro.cov_r, signed=True)}, OLS r {compact(ro.ols_r, signed=True)}")


class ExplorerFeatures:
    """User features from the ``:`` prompt (mixed into ExplorerScreen, which holds ``user_features``)."""

    standard_traces: dict[str, np.ndarray] = {}
    """The h·u traces of the standard features (set once their factor map exists)."""

    def run_feature_command(self, line: str) -> bool:
        """Run ``feature ...``, ``features`` or ``unfeature NAME``; False for other input."""
        word, _, argument = line.strip().partition(" ")
        if word not in FEATURE_COMMANDS:
            return False
        argument = argument.strip()
        if word == "features":
            self.notify(self.user_features_summary(), timeout=8)
        elif word == "target":
            self.set_attribution_target(argument)
        elif not argument:
            self.notify(f":{word} {FEATURE_COMMANDS[word]}", severity="warning", timeout=4)
        elif word == "feature":
            self.add_user_feature(argument)
        else:
            self.remove_user_feature(argument)
        return True

    def user_features_summary(self) -> str:
        """Every user feature with its definition and factor-map entry (or that it is computing)."""
        if not len(self.user_features):
            return "no user features yet: :feature NAME=REGEX adds one"
        lines = [readout_summary(f.name, f.readout) if f.readout is not None else f"{f.name}: computing its readout…"
                 for f in self.user_features]
        return "\n".join(f"{line}   [{f.definition}]" for line, f in zip(lines, self.user_features))

    def add_user_feature(self, definition: str) -> None:
        """Add the feature ``NAME=REGEX`` or ``NAME=@FILE`` and compute its factor-map entry."""
        try:
            feature = self.user_features.parse(definition)
        except FactormapError as exc:
            self.notify(f"feature: {exc}", severity="error", timeout=8)
            return
        self.user_features.add(feature)
        self.record("feature", name=feature.name, definition=feature.definition)
        self.notify(f"feature {feature.name}: {int(feature.values.sum()):,} positions covered; computing its readout"
                    if not feature.definition.partition("=")[2].startswith("@")
                    else f"feature {feature.name}: read; computing its readout", timeout=4)
        session, name, values = self.session, feature.name, feature.values

        def job() -> None:
            try:
                fm = compute_factor_map(session, {name: values})
                self.post_message(UserFeatureReadout(name, fm.readouts[name]))
            except Cancelled:
                return
            except FactormapError as exc:
                self.post_message(UserFeatureReadout(name, None, str(exc)))

        self.run_worker(job, thread=True, group=f"feature-{name}", exclusive=True, exit_on_error=False,
                        name=f"feature {name}")

    def on_user_feature_readout(self, message: UserFeatureReadout) -> None:
        """Keep the entry, trace h·u_NAME and say the figures."""
        feature = self.user_features.get(message.name)
        if feature is None:  # removed meanwhile
            return
        if message.readout is None:
            self.notify(f"feature {message.name}: {message.error}", severity="error", timeout=8)
            return
        feature.readout = message.readout
        self.retrace()
        direction = self.user_traces().get(f"h·u_{message.name}")
        if direction is not None:
            self.query_one("#interventions").set_feature_rows(message.name, direction)
            self.query_one("#status").edit_rows = len(self.query_one("#interventions").rows)
        self.notify(readout_summary(message.name, message.readout), timeout=8)

    def remove_user_feature(self, name: str) -> None:
        """Drop the user feature ``name`` and its trace."""
        try:
            self.user_features.remove(name)
        except FactormapError as exc:
            self.notify(f"unfeature: {exc}", severity="error", timeout=6)
            return
        self.workers.cancel_group(self, f"feature-{name}")
        self.record("feature_removed", name=name)
        self.retrace()
        self.query_one("#interventions").drop_feature_rows(name)
        self.query_one("#status").edit_rows = len(self.query_one("#interventions").rows)
        self.notify(f"feature {name} removed", timeout=3)

    def set_attribution_target(self, argument: str) -> None:
        """Attribute the byte ``A`` (``argument = "A"``), the contrast ``A B``, or the next byte ("")."""
        try:
            parts = [motions.parse_pattern(word) for word in argument.split()]
        except ValueError as exc:
            self.notify(f"target: {exc}", severity="error", timeout=6)
            return
        if len(parts) > 2 or any(len(part) != 1 for part in parts):
            self.notify("target: give one byte A, or two bytes A B for ln p(A) − ln p(B) "
                        "(a character or a \\xNN escape each)", severity="error", timeout=6)
            return
        pane = self.query_one("#attribution")
        try:
            pane.set_target(*(part[0] for part in parts))
        except ValueError as exc:
            self.notify(f"target: {exc}", severity="error", timeout=6)
            return
        self.record("contrast", **contrast_fields(pane))
        self.notify(f"attributing {pane.target_description() or 'the next byte'}", timeout=3)

    def user_traces(self) -> dict[str, np.ndarray]:
        """``h·u_NAME`` -> u for every user feature whose covariance direction exists."""
        out = {}
        for f in self.user_features:
            u = None if f.readout is None else np.asarray(f.readout.cov_direction, np.float64)
            if u is not None and np.all(np.isfinite(u)) and np.linalg.norm(u) > 0:
                out[f"h·u_{f.name}"] = u
        return out

    def retrace(self) -> None:
        """Draw the standard and the user features' h·u traces on the oscilloscope."""
        self.query_one("#oscilloscope").set_readouts({**self.standard_traces, **self.user_traces()})
