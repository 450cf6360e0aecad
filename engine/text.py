"""Reading the text to explore. Any byte sequence is a valid text: nothing is decoded."""

from __future__ import annotations

import os
from pathlib import Path

from factormap.engine.errors import TextError
from factormap.engine.memory import available_memory

#: Memory a :class:`~factormap.engine.session.Session` holds per byte of text: the byte itself (1)
#: and its bits (float32, 4); states and predictions are recomputed from checkpoints when asked for.
SESSION_BYTES_PER_TEXT_BYTE = 5


def load_text(path: str | os.PathLike) -> bytes:
    """The bytes of ``path``, read-only.

    A text whose session would need more than the available memory
    (:data:`SESSION_BYTES_PER_TEXT_BYTE` per byte) is refused from its size before it is read.

    Raises
    ------
    TextError
        missing, a directory, not a regular file, unreadable, too large for memory,
        empty, or a single byte (no prediction to make).
    """
    path = Path(path)
    try:
        _check_path(path)
        _check_fits(path, path.stat().st_size)
        data = path.read_bytes()
    except PermissionError:
        raise TextError(f"{path}: text file is not readable (permission denied)") from None
    except OSError as exc:
        raise TextError(f"{path}: cannot read the text file ({exc.strerror or exc})") from None
    except MemoryError:
        raise TextError(f"{path}: not enough memory to read the text file") from None
    check_text(data, str(path))
    return data


def _check_path(path: Path) -> None:
    if not path.exists():
        raise TextError(f"{path}: no such text file")
    if path.is_dir():
        raise TextError(f"{path}: is a directory, not a text file")
    if not path.is_file():
        raise TextError(f"{path}: is not a regular file (a device, pipe or socket), not a text file")
    if not os.access(path, os.R_OK):
        raise TextError(f"{path}: text file is not readable (permission denied)")


def _check_fits(path: Path, size: int) -> None:
    need = SESSION_BYTES_PER_TEXT_BYTE * size
    free = available_memory()
    if free is not None and need > free:
        raise TextError(f"{path}: text file is {size:,} bytes and exploring it needs about {need:,} bytes "
                        f"of memory, but only {free:,} bytes are available")


def check_text(data: bytes, name: str = "<text>") -> None:
    """Raise :class:`TextError` unless ``data`` has at least two bytes (one prediction to score)."""
    if len(data) == 0:
        raise TextError(f"{name}: text is empty; there is nothing to predict")
    if len(data) == 1:
        raise TextError(f"{name}: text has a single byte; at least two are needed to score one prediction")
