"""The user's own features in the app (``:feature NAME=REGEX``, ``:feature NAME=@file``).

A feature is parsed by the engine
(:func:`factormap.engine.factor_map.user_features.parse_feature_definition`: RE2 syntax for a
regex, one number per byte position for a file) and kept here with its definition as typed, so
that the inspector, the oscilloscope and a session record all see the same set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factormap.engine.factor_map.features import STANDARD_FEATURES, FeatureError
from factormap.engine.factor_map.user_features import parse_feature_definition
from factormap.engine.factor_map.readout import FeatureReadout


@dataclass
class UserFeature:
    """One feature the user added.

    Attributes:
        name: its name (``h·u_NAME`` on the oscilloscope).
        definition: as typed: ``NAME=REGEX`` (1 where a match covers the position) or ``NAME=@FILE``.
        values: (n,) float64, one value per position, aligned with ``h_t``.
        readout: its factor-map entry (best unit, covariance and OLS directions, their r), once computed.
    """

    name: str
    definition: str
    values: np.ndarray
    readout: FeatureReadout | None = None


class UserFeatures:
    """The user's features of one session, in the order they were added.

    Args:
        session: the session whose text defines the positions.
    """

    def __init__(self, session) -> None:
        self.session = session
        self._features: dict[str, UserFeature] = {}

    def parse(self, definition: str) -> UserFeature:
        """The feature ``definition`` defines over the session's text (not added yet).

        Raises:
            FeatureError: one sentence: a malformed definition, a bad regex, an unusable file, or a
                name that exists already.
        """
        feature = parse_feature_definition(definition)
        if feature.name in STANDARD_FEATURES or feature.name in self._features:
            raise FeatureError(f"a feature named {feature.name!r} already exists (:features lists them)")
        return UserFeature(feature.name, definition.strip(), feature.values(self.session.text))

    def add(self, feature: UserFeature) -> None:
        """Keep ``feature`` (its name must be new)."""
        self._features[feature.name] = feature

    def remove(self, name: str) -> UserFeature:
        """Drop the feature ``name``.

        Raises:
            FeatureError: there is no such user feature.
        """
        if name not in self._features:
            raise FeatureError(f"no user feature named {name!r} (:features lists them)")
        return self._features.pop(name)

    def get(self, name: str) -> UserFeature | None:
        """The feature ``name``, or None."""
        return self._features.get(name)

    def arrays(self) -> dict[str, np.ndarray]:
        """name -> values, in the order added."""
        return {name: f.values for name, f in self._features.items()}

    def __iter__(self):
        return iter(self._features.values())

    def __len__(self) -> int:
        return len(self._features)
