"""A researcher's own features, defined without code: ``NAME=REGEX`` or ``NAME=@FILE``.

A binary feature from a regular expression is 1 at every byte position a match covers
(:func:`regex_feature`); a numeric one is read from a file of one number per byte position
(:func:`numeric_feature_file`). :func:`parse_feature_definition` is the one parser of a definition
that the app's ``:feature``, the ``report``, ``inspect`` and ``sweep`` options and a session
record's replay all go through; it gives a :class:`FeatureDefinition` whose ``values(text)`` is
the feature over a text.

User regexes run on RE2, whose matching time is linear in the text's length whatever the pattern
(Python's ``re`` can backtrack for ever on ``(a+)+$``); RE2 has no backreferences or lookaround.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import re2

from factormap.engine.factor_map.features import FeatureError

#: A user feature's name: letters, digits, '_' or '-', starting with a letter or '_'.
FEATURE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # one byte is one character, as in a bytes ``re``
    options.log_errors = False  # RE2 would also print each syntax error on stderr
    options.never_capture = True  # only where each match starts and ends is used
    return options


def _unsupported(message: str) -> str:
    if "(?=" in message or "(?!" in message or "(?<" in message:
        return "lookahead and lookbehind are not supported"
    if re.search(r"invalid escape sequence: \\[1-9]", message):
        return "backreferences are not supported"
    return message


def compile_regex(pattern: str | bytes):
    """``pattern`` compiled by RE2 over bytes (a ``str`` is encoded as UTF-8 first).

    The syntax is RE2's (close to Python's ``re`` without backreferences and lookaround); each
    byte of the text is one character, so ``.`` matches any one byte but a newline.

    Raises
    ------
    FeatureError
        the pattern does not compile, or uses syntax RE2 does not support.
    """
    if isinstance(pattern, str):
        pattern = pattern.encode("utf-8")
    try:
        return re2.compile(pattern, _re2_options())
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise FeatureError(f"invalid regular expression {pattern.decode('utf-8', 'replace')!r}: "
                           f"{_unsupported(detail)} (the regex engine is RE2, which matches in linear "
                           f"time)") from None


def _coverage(compiled, text: bytes) -> np.ndarray:
    delta = np.zeros(len(text) + 1, np.int64)
    for match in compiled.finditer(text):
        delta[match.start()] += 1
        delta[match.end()] -= 1
    return (np.cumsum(delta[:-1]) > 0).astype(np.float64)


def regex_feature(text_bytes: bytes, pattern: str | bytes) -> np.ndarray:
    """1 at every position covered by a match of ``pattern`` over the text's bytes, else 0.

    The pattern is compiled by :func:`compile_regex` (RE2, linear time); matches are the
    non-overlapping leftmost-first ones, scanning from the start, and a match covers
    ``[start, end)`` (an empty match covers nothing).

    Raises
    ------
    FeatureError
        the pattern does not compile or uses syntax RE2 does not support.
    """
    return _coverage(compile_regex(pattern), bytes(text_bytes))


#: Largest magnitude a feature file's value may have: the factor map sums squares and products of
#: feature values in float64, which 1e308 would overflow.
FEATURE_VALUE_LIMIT = 1e100

#: Most bytes a feature file may hold per byte position of the text (a number and its separator;
#: ``-1.2345678901234567e-308`` is 24), so a file's size bounds the memory reading it takes.
FEATURE_FILE_BYTES_PER_POSITION = 64


def _read_feature_file(path: Path, n: int) -> bytes:
    """The bytes of a feature file for a text of ``n`` bytes: a regular file of bounded size."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FeatureError(f"{path}: no such feature file") from None
    except OSError as exc:
        raise FeatureError(f"{path}: cannot read the feature file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise FeatureError(f"{path}: is a directory, not a feature file")
    if not stat.S_ISREG(st.st_mode):  # /dev/zero never ends, a pipe may never be written to
        raise FeatureError(f"{path}: is not a regular file (a device, pipe or socket), not a feature file")
    limit = FEATURE_FILE_BYTES_PER_POSITION * max(n, 1)
    if st.st_size > limit:
        raise FeatureError(f"{path}: is {st.st_size:,} bytes, more than {FEATURE_FILE_BYTES_PER_POSITION} "
                           f"per byte position of the text ({n:,}); one number per position is expected")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)  # a file that grew after the check is still read only so far
    except OSError as exc:
        raise FeatureError(f"{path}: cannot read the feature file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise FeatureError(f"{path}: grew while it was read; more than {FEATURE_FILE_BYTES_PER_POSITION} "
                           f"bytes per byte position of the text")
    return data


def _parses_as_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def numeric_feature_file(path: str | os.PathLike, n: int) -> np.ndarray:
    """A numeric feature read from a text file of ``n`` numbers, one per byte position.

    Numbers are separated by whitespace (one per line is the intended layout); each is parsed by
    Python's ``float`` and must be finite and within ±:data:`FEATURE_VALUE_LIMIT`. The file is only
    read, and must be a regular file of at most :data:`FEATURE_FILE_BYTES_PER_POSITION` bytes per
    position.

    Raises
    ------
    FeatureError
        the file is missing, unreadable, not a regular file or too large, holds a
        token that is not a finite number or is too large, or holds a different count of numbers than ``n``.
    """
    path = Path(path)
    tokens = _read_feature_file(path, n).split()
    try:
        values = np.array(tokens, dtype=np.bytes_).astype(np.float64) if tokens else np.empty(0)
    except ValueError:
        bad = next(i for i, token in enumerate(tokens) if not _parses_as_float(token))
        raise FeatureError(f"{path}: entry {bad + 1} ({tokens[bad].decode('utf-8', 'replace')!r}) "
                           f"is not a number") from None
    finite = np.isfinite(values)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise FeatureError(f"{path}: entry {bad + 1} ({tokens[bad].decode('utf-8', 'replace')!r}) "
                           f"is not a finite number")
    huge = np.abs(values) > FEATURE_VALUE_LIMIT
    if huge.any():
        bad = int(np.argmax(huge))
        raise FeatureError(f"{path}: entry {bad + 1} ({tokens[bad].decode('utf-8', 'replace')!r}) is beyond "
                           f"±{FEATURE_VALUE_LIMIT:g}, too large to square and sum in float64; rescale the feature")
    if values.size != n:
        raise FeatureError(f"{path}: holds {values.size} numbers but the text has {n} bytes; "
                           f"one number per byte position is needed")
    return values


@dataclass(frozen=True)
class FeatureDefinition:
    """A user feature, parsed: either a regex (binary) or a file of numbers (numeric), and its name.

    Attributes
    ----------
    name : str
        The feature's name (:data:`FEATURE_NAME`).
    pattern : str or None
        The regex as given, for a ``NAME=REGEX`` feature; None for a file.
    path : Path or None
        The file of numbers, for a ``NAME=@FILE`` or ``--feature-file NAME=PATH`` feature (``~``
        expanded); None for a regex.
    """

    name: str
    pattern: str | None = None
    path: Path | None = None
    _compiled: object = field(default=None, repr=False, compare=False)

    def values(self, text_bytes: bytes) -> np.ndarray:
        """The feature over a text, aligned with ``h_t``.

        For a regex, ``f[t] = 1`` if a match of the pattern covers byte t (the non-overlapping
        leftmost-first matches, each covering ``[start, end)``; :func:`regex_feature`), else 0; for
        a file, ``f[t]`` is its (t+1)-th number (:func:`numeric_feature_file`, read now, so a file
        changed since parsing is read as it is now).

        Parameters
        ----------
        text_bytes : bytes
            The text, n bytes.

        Returns
        -------
        numpy.ndarray
            float64, shape (n,).

        Raises
        ------
        FeatureError
            The file cannot be used for this text (one sentence).
        """
        if self.path is not None:
            return numeric_feature_file(self.path, len(text_bytes))
        return _coverage(self._compiled, bytes(text_bytes))


def parse_feature_spec(spec: str) -> tuple[str, str]:
    """``NAME=VALUE`` split at the first ``=``, the name checked against :data:`FEATURE_NAME`.

    Raises
    ------
    FeatureError
        no ``=``, an empty value, or a name that is not allowed.
    """
    name, sep, value = spec.partition("=")
    if not sep or not value:
        raise FeatureError(f"expected NAME=VALUE, got {spec!r}")
    if not FEATURE_NAME.fullmatch(name):
        raise FeatureError(f"feature name {name!r} must be letters, digits, '_' or '-' "
                           f"and start with a letter or '_'")
    return name, value


def parse_regex_feature(spec: str) -> FeatureDefinition:
    """The binary feature a ``NAME=REGEX`` defines (``--feature``), its regex compiled now.

    Raises
    ------
    FeatureError
        one sentence: a malformed spec or name (:func:`parse_feature_spec`), or a
        regex that does not compile or uses syntax RE2 does not support (:func:`compile_regex`).
    """
    name, pattern = parse_feature_spec(spec)
    try:
        compiled = compile_regex(pattern)
    except FeatureError as exc:
        raise FeatureError(f"{name}: {exc}") from None
    return FeatureDefinition(name, pattern=pattern, _compiled=compiled)


def parse_feature_file(spec: str) -> FeatureDefinition:
    """The numeric feature a ``NAME=PATH`` defines (``--feature-file``); the file is read by
    :meth:`FeatureDefinition.values`, when the text is known.

    Raises
    ------
    FeatureError
        a malformed spec or name (:func:`parse_feature_spec`).
    """
    name, path = parse_feature_spec(spec)
    return FeatureDefinition(name, path=Path(path).expanduser())


def parse_feature_definition(definition: str) -> FeatureDefinition:
    """A user feature as ``:feature`` takes it and a session record keeps it: ``NAME=@FILE`` is a
    numeric feature (as :func:`parse_feature_file` of ``NAME=FILE``), any other ``NAME=REGEX`` a
    binary one (:func:`parse_regex_feature`); surrounding whitespace is ignored. The feature's
    values over a text are :meth:`FeatureDefinition.values`.

    Parameters
    ----------
    definition : str
        ``NAME=REGEX`` or ``NAME=@FILE``, split at the first ``=``.

    Returns
    -------
    FeatureDefinition
        Its regex compiled (a bad one fails here); a file is read only by ``values``.

    Raises
    ------
    FeatureError
        One sentence: a malformed definition or name, or a bad regex (prefixed ``NAME:``).
    """
    name, value = parse_feature_spec(definition.strip())
    if value.startswith("@"):
        return FeatureDefinition(name, path=Path(value[1:]).expanduser())
    return parse_regex_feature(definition.strip())
