"""A fingerprint of the engine's Python source, for caches that must not outlive an edit of it.

Imports the standard library only (``bench/run`` reads it without importing numba).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: The folder of the ``factormap.engine`` package.
ENGINE_ROOT = Path(__file__).resolve().parent


def source_fingerprint(root: Path = ENGINE_ROOT) -> str:
    """12 hex digits of the SHA-256 of every ``.py`` file under ``root``: their paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
