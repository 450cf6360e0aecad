"""numba's on-disk cache in a folder named after the engine's source, so no kernel outlives an edit.

numba keeps a cached kernel while the kernel's own file is unchanged, even when a function it
inlines from another file has changed (``kernels/matvec.py``, ``fastmath.py``, ``state_edits.py``
are inlined into kernels of other files): after such an edit, or a ``git pull`` that changes only
such a file, a run would load the kernels compiled before it (a warm cache once hid a sign flip
in a state edit, issue 16). So, before any kernel is compiled, :func:`use_source_keyed_cache`
points numba's cache at ``numba-<fingerprint>`` (:func:`~factormap.engine.source_fingerprint.source_fingerprint`
of every engine file) in the engine's ``__pycache__``, or in the user's cache folder where that one
cannot be written. A user's ``NUMBA_CACHE_DIR`` is left as it is. Each version of the source has
a folder of its own (about 3 MB once every kernel is compiled).
"""

from __future__ import annotations

from pathlib import Path

from numba.core import config
from numba.misc.appdirs import user_cache_dir

from factormap.engine.source_fingerprint import ENGINE_ROOT, source_fingerprint


def candidate_folders(fingerprint: str) -> list[Path]:
    """Where the cache of this source may go, in order of preference."""
    name = f"numba-{fingerprint}"
    return [ENGINE_ROOT / "__pycache__" / name, Path(user_cache_dir("factormap")) / name]


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True


def use_source_keyed_cache(folders: list[Path] | None = None) -> str | None:
    """Set numba's cache folder to the first writable of ``folders`` (default
    :func:`candidate_folders` of this source) unless the user set ``NUMBA_CACHE_DIR``; returns the
    folder numba caches in, or None where it is numba's own choice."""
    if config.CACHE_DIR:
        return config.CACHE_DIR
    for folder in candidate_folders(source_fingerprint()) if folders is None else folders:
        if _writable(folder):
            config.CACHE_DIR = str(folder)
            return config.CACHE_DIR
    return None


#: The folder numba caches the engine's kernels in (None: numba's default places).
CACHE_FOLDER = use_source_keyed_cache()
