"""The user-feature options that ``report``, ``inspect`` and ``sweep`` share.

``--feature NAME=REGEX`` adds a binary feature (1 where a match of the bytes regex covers the
position), ``--feature-file NAME=PATH`` a numeric one (one number per byte position), both
repeatable. Both parse through :mod:`factormap.engine.factor_map.user_features`, the parser the
app's ``:feature`` and a record's replay use too; a bad one is a one-line usage error.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from typing import TYPE_CHECKING

from factormap.tui.commands.common import UsageError

if TYPE_CHECKING:
    from factormap.engine.factor_map.user_features import FeatureDefinition


@contextmanager
def _as_argument_error():
    """The engine's one-sentence error becomes the option's (argparse prefixes the option's name)."""
    from factormap.engine.errors import FactormapError

    try:
        yield
    except FactormapError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def regex_feature_argument(spec: str) -> FeatureDefinition:
    """An argparse ``type``: a ``NAME=REGEX`` whose regex RE2 compiles.

    Args:
        spec: the option's value.
    """
    from factormap.engine.factor_map.user_features import parse_regex_feature

    with _as_argument_error():
        return parse_regex_feature(spec)


def feature_file_argument(spec: str) -> FeatureDefinition:
    """An argparse ``type``: a ``NAME=PATH`` with an allowed name (the file is read with the text).

    Args:
        spec: the option's value.
    """
    from factormap.engine.factor_map.user_features import parse_feature_file

    with _as_argument_error():
        return parse_feature_file(spec)


def add_feature_arguments(parser) -> None:
    """``--feature`` and ``--feature-file``, into ``args.factor_map_regex`` and ``args.factor_map_files``.

    Args:
        parser: the command's parser, or one of its argument groups.
    """
    parser.add_argument("--feature", action="append", default=[], metavar="NAME=REGEX", type=regex_feature_argument,
                        dest="factor_map_regex",
                        help="add a binary feature: 1 where a match of REGEX (bytes) covers the position; repeatable")
    parser.add_argument("--feature-file", action="append", default=[], metavar="NAME=PATH",
                        type=feature_file_argument, dest="factor_map_files",
                        help="add a numeric feature read from PATH, one number per byte position; repeatable")


def check_new_names(definitions, option: str, taken=()) -> None:
    """Every feature's name is new: not a standard feature, not in ``taken``, not given twice.

    Args:
        definitions: the :class:`~factormap.engine.factor_map.user_features.FeatureDefinition` given.
        option: the option they came from, which the message names.
        taken: names of user features given by another option.

    Raises:
        UsageError: ``OPTION: a feature named 'NAME' already exists``.
    """
    from factormap.engine.factor_map.features import STANDARD_FEATURES

    seen = {*STANDARD_FEATURES, *taken}
    for definition in definitions:
        if definition.name in seen:
            raise UsageError(f"{option}: a feature named {definition.name!r} already exists")
        seen.add(definition.name)


def user_features(session, args: argparse.Namespace) -> dict:
    """The features given by :func:`add_feature_arguments`, over the session's text.

    Each is a whole (n,) float64 array, 8 bytes per text byte (the standard features are streamed
    by the engine and need no such array).

    Args:
        session: the session (its text defines the positions).
        args: the parsed arguments.

    Returns:
        Feature name -> (n,) array: the ``--feature`` ones, then the ``--feature-file`` ones, each in
        the order given.

    Raises:
        UsageError: a name given twice or taken by a standard feature, or a feature file that cannot be used.
    """
    from factormap.engine.errors import FactormapError

    regexes, files = getattr(args, "factor_map_regex", []), getattr(args, "factor_map_files", [])
    check_new_names(regexes, "--feature")
    check_new_names(files, "--feature-file", taken=[d.name for d in regexes])
    features = {}
    for definition, option in [*((d, "--feature") for d in regexes), *((d, "--feature-file") for d in files)]:
        try:
            features[definition.name] = definition.values(session.text)
        except FactormapError as exc:
            raise UsageError(f"{option} {definition.name}: {exc}") from None
    return features
