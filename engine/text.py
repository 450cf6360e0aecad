"""Reading the text to explore. Any byte sequence is a valid text: nothing is decoded."""

from __future__ import annotations

import os
from pathlib import Path

from factormap.engine.errors import TextError


def load_text(path: str | os.PathLike) -> bytes:
    """The bytes of ``path``, read-only.

    Raises:
        TextError: missing, a directory, unreadable, empty, or a single byte (no prediction to make).
    """
    path = Path(path)
    if not path.exists():
        raise TextError(f"{path}: no such text file")
    if path.is_dir():
        raise TextError(f"{path}: is a directory, not a text file")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise TextError(f"{path}: text file is not readable (permission denied)") from None
    except OSError as exc:
        raise TextError(f"{path}: cannot read the text file ({exc.strerror or exc})") from None
    check_text(data, str(path))
    return data


def check_text(data: bytes, name: str = "<text>") -> None:
    """Raise :class:`TextError` unless ``data`` has at least two bytes (one prediction to score)."""
    if len(data) == 0:
        raise TextError(f"{name}: text is empty; there is nothing to predict")
    if len(data) == 1:
        raise TextError(f"{name}: text has a single byte; at least two are needed to score one prediction")
