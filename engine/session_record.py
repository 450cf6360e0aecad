"""The session record: what a person did in the explorer, one JSON object per line, for replaying.

Schema, format version 1 (UTF-8 JSON Lines; every line one JSON object):

Line 1, the header:

- ``format``: ``"factormap-session"``; ``format_version``: ``1``.
- ``tool``: ``{"name": "factormap-tui", "version": V}``, V from the installed distribution's metadata.
- ``created``: the UTC time the record was started, ISO 8601 (``2026-12-01T23:15:02Z``).
- ``model``, ``text``: the inputs, each a :class:`FileIdentity`: ``name`` (the file's name),
  ``path`` (absolute, where it was read), ``bytes`` (its size) and ``sha256`` (hex digest of its bytes).
- ``precision``: the dtype the explorer computed in (``"float32"`` or ``"float64"``).
- ``K``: the deepest offset of the attribution pane.

Every further line, an action: ``i`` (1, 2, 3, ... in the order they happened), ``action`` (a key
of :data:`ACTIONS`) and that action's fields. An action is the resulting state change, never the
key that caused it, so a replay is deterministic:

- ``move``: the cursor went to position ``t`` (0-based).
- ``lens``: the text pane's lens became ``lens``.
- ``neuron``: the selected neuron became ``neuron``.
- ``traces``: the oscilloscope traces the units ``neurons`` (a list, in order).
- ``edit``: row ``row`` (0-based) of the interventions pane, the research edit ``key`` (see
  :mod:`factormap.engine.interventions.table`) labelled ``name``, was switched ``on``; optional
  ``band_runs``: the nudged re-runs of its sensitivity band, ``null_n``: the random directions of
  its matched null.
- ``attribution_mode``: the attribution pane shows the quantity ``mode``.
- ``feature``: a user feature ``name`` was added from ``definition`` (``NAME=REGEX`` or ``NAME=@file``).
- ``feature_removed``: the user feature ``name`` was removed.
- ``contrast``: the attribution differentiates ``ln p_t(target)`` from now on (``target`` a byte
  0..255; -1: the next byte ``x_{t+1}``, the default); optional ``against``, a byte b: the
  quantity is ``ln p_t(target) - ln p_t(b)``.
- ``precision``: the figures are computed in ``precision`` from here on.

Fields beyond those listed are kept and passed on (a newer app may say more).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from factormap.engine.errors import FactormapError

FORMAT = "factormap-session"
"""The header's ``format``."""
FORMAT_VERSION = 1
"""The header's ``format_version`` this module writes and reads."""
DISTRIBUTION = "factormap-tui"
"""The distribution whose version the header names."""
ACTIONS: dict[str, dict[str, type]] = {
    "move": {"t": int},
    "lens": {"lens": str},
    "neuron": {"neuron": int},
    "traces": {"neurons": list},
    "edit": {"row": int, "key": str, "name": str, "on": bool},
    "attribution_mode": {"mode": str},
    "feature": {"name": str, "definition": str},
    "feature_removed": {"name": str},
    "contrast": {"target": int},
    "precision": {"precision": str},
}
"""Every action's name -> its required fields and their JSON types."""
PRECISIONS = ("float32", "float64")
"""The values of the header's ``precision`` and of a ``precision`` action."""
_HASH_BLOCK = 1 << 20


class RecordError(FactormapError):
    """A session record that cannot be read or written (the message names the file and the line)."""


class InputMismatch(FactormapError):
    """A model or text whose sha256 differs from the one the session record names."""


@dataclass(frozen=True)
class FileIdentity:
    """What names an input file for someone else.

    Attributes
    ----------
    name
        the file's name.
    path
        its absolute path where it was read.
    bytes
        its size in bytes.
    sha256
        the hex SHA-256 digest of its bytes.
    """

    name: str
    path: str
    bytes: int
    sha256: str


def file_identity(path: str | os.PathLike) -> FileIdentity:
    """The :class:`FileIdentity` of ``path``, hashed block by block (no copy of the file in memory)."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
            size += len(block)
    return FileIdentity(name=path.name, path=str(path.resolve()), bytes=size, sha256=digest.hexdigest())


def tool_version() -> str:
    """The installed version of factormap-tui (``"unknown"`` when not installed as a distribution)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def session_header(model: FileIdentity, text: FileIdentity, *, precision: str, K: int) -> dict:
    """The header line of a new record (see the module's schema)."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
            "tool": {"name": DISTRIBUTION, "version": tool_version()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": asdict(model), "text": asdict(text), "precision": str(precision), "K": int(K)}


def check_action(action: str, fields: dict) -> None:
    """Raise :class:`RecordError` unless ``action`` is known and ``fields`` has its required fields."""
    if action not in ACTIONS:
        raise RecordError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}.")
    for name, kind in ACTIONS[action].items():
        value = fields.get(name)
        # bool is an int in Python, but a JSON true is no position
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise RecordError(f"action {action!r} needs a field {name!r} of type {kind.__name__}, got {value!r}.")
    if action == "contrast" and not (-1 <= fields["target"] < 256 and fields.get("against", 0) in range(256)):
        raise RecordError(f"a contrast's target must be -1 (the next byte) or a byte 0..255 and its 'against' "
                          f"a byte, got {fields['target']!r} and {fields.get('against')!r}.")
    if action == "precision" and fields["precision"] not in PRECISIONS:
        raise RecordError(f"precision must be one of {', '.join(PRECISIONS)}, got {fields['precision']!r}.")


@dataclass
class SessionRecord:
    """A session record read back.

    Attributes
    ----------
    header
        the header line (see the module's schema).
    actions
        the action lines, in order, each with ``i``, ``action`` and its fields.
    """

    header: dict
    actions: list[dict] = field(default_factory=list)

    @property
    def model(self) -> FileIdentity:
        """The model the session was recorded on."""
        return FileIdentity(**self.header["model"])

    @property
    def text(self) -> FileIdentity:
        """The text the session was recorded on."""
        return FileIdentity(**self.header["text"])


def _check_header(header, where: str) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordError(f"{where}: not a factormap session record (its first line has no "
                          f"\"format\": \"{FORMAT}\").")
    if header.get("format_version") != FORMAT_VERSION:
        raise RecordError(f"{where}: format version {header.get('format_version')!r} is not the "
                          f"{FORMAT_VERSION} this factormap-tui reads.")
    for key in ("model", "text"):
        entry = header.get(key)
        if not isinstance(entry, dict) or set(entry) != {"name", "path", "bytes", "sha256"}:
            raise RecordError(f"{where}: the header's {key!r} must have name, path, bytes and sha256.")
    if header.get("precision") not in PRECISIONS:
        raise RecordError(f"{where}: the header's 'precision' must be one of {', '.join(PRECISIONS)}.")
    if not isinstance(header.get("K"), int) or header["K"] < 0:
        raise RecordError(f"{where}: the header's 'K' must be a whole number of 0 or more.")


def read_record(path: str | os.PathLike) -> SessionRecord:
    """Read and check a session record; a problem raises :class:`RecordError` naming the line."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a FIFO would block the read, a folder cannot be one
        raise RecordError(f"{path}: a session record is a regular file; this is not one.")
    try:
        # "\n" only: str.splitlines would also split inside a JSON string holding U+0085 or U+2028
        lines = path.read_bytes().decode("utf-8").split("\n")
    except OSError as exc:
        raise RecordError(f"{path}: cannot read the session record: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: a session record is UTF-8 JSON Lines; this file is not UTF-8.") from None
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise RecordError(f"{path}, line {number}: not JSON ({exc.msg}).") from None
    if not entries:
        raise RecordError(f"{path}: the session record is empty.")
    _check_header(entries[0][1], f"{path}, line {entries[0][0]}")
    record = SessionRecord(header=entries[0][1])
    for number, entry in entries[1:]:
        if not isinstance(entry, dict) or not isinstance(entry.get("action"), str):
            raise RecordError(f"{path}, line {number}: an action line needs an \"action\" name.")
        try:
            check_action(entry["action"], entry)
        except RecordError as exc:
            raise RecordError(f"{path}, line {number}: {exc}") from None
        record.actions.append(entry)
    return record


def check_inputs(record: SessionRecord, model: FileIdentity, text: FileIdentity) -> None:
    """Raise :class:`InputMismatch` unless ``model`` and ``text`` are the files the record names."""
    for what, recorded, given in (("model", record.model, model), ("text", record.text, text)):
        if recorded.sha256 != given.sha256:
            raise InputMismatch(f"the {what} {given.path} (sha256 {given.sha256[:12]}…) is not the one this "
                                f"session was recorded on ({recorded.name}, sha256 {recorded.sha256[:12]}…).")


def record_line(entry: dict) -> str:
    """One line of a record: ``entry`` as compact JSON (non-ASCII kept as UTF-8) and a newline."""
    return json.dumps(entry, ensure_ascii=False) + "\n"


def record_bytes(header: dict, actions: list[tuple[str, dict]]) -> bytes:
    """A whole record: ``header``, then ``actions`` (name, fields) numbered from 1, each checked."""
    lines = [record_line(header)]
    for i, (action, fields) in enumerate(actions, 1):
        check_action(action, fields)
        lines.append(record_line({"i": i, "action": action, **fields}))
    return "".join(lines).encode("utf-8")


class RecordWriter:
    """Appends a session's actions to a new record file, one flushed line each.

    Parameters
    ----------
    path
        the record to create; an existing file is never overwritten (:class:`RecordError`).
    header
        the header line (:func:`session_header`).
    """

    def __init__(self, path: str | os.PathLike, header: dict) -> None:
        self.path = Path(path)
        self.count = 0
        """Actions written so far."""
        try:
            self._fh = open(self.path, "x", encoding="utf-8")
        except FileExistsError:
            raise RecordError(f"{self.path} exists already; a session record is never written over a file.") from None
        except OSError as exc:
            raise RecordError(f"{self.path}: cannot create the session record: {exc.strerror or exc}.") from None
        self._line(header)

    def _line(self, entry: dict) -> None:
        self._fh.write(record_line(entry))
        self._fh.flush()

    def write(self, action: str, **fields) -> dict:
        """Append one action (checked against :data:`ACTIONS`); the entry as written."""
        check_action(action, fields)
        self.count += 1
        entry = {"i": self.count, "action": action, **fields}
        self._line(entry)
        return entry

    def close(self) -> None:
        """Close the file (the lines are on disk already)."""
        self._fh.close()
