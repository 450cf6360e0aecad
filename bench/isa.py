"""Which vector ISA numba compiles the engine for in a bench run: the host's, or AVX2 on any x86 CPU.

Issue 19 sets its targets on AVX2 and AVX-512 alike, and numba compiles for the host, so an AVX-512
machine runs only its AVX-512 code unless told otherwise. ``bench/run --isa avx2`` gives every
script (and the floor's ISA probe) an environment in which numba compiles AVX2 code:

- ``NUMBA_CPU_FEATURES``: the host's LLVM features with every AVX-512 feature turned off
  (``-avx512f``, ``-avx512bw``, ..., and the ``avx10`` ones that imply it); ``NUMBA_CPU_NAME`` is left unset, so LLVM still tunes for
  the host's core, and :func:`floor._numba_isa` reports the ISA of the code it compiles;
- ``NUMBA_CACHE_DIR``: a folder of its own (:func:`cache_dir`), so that AVX2 kernels and the
  host's never share numba's cache and a second run finds its kernels warm.

Every bench run, native too, gets a cache folder named after the ISA and a fingerprint of the
engine's source (:func:`source_fingerprint`): numba does not invalidate a cached kernel when a
function it inlines from another file changes, so a run after an edit of ``kernels/matvec.py``
would otherwise time the kernels compiled before it.

OpenBLAS picks its kernels from the CPU itself (these variables do not reach it), so the floor
stays the machine's own: an AVX2 figure over it says what the AVX2 code leaves on the table.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from pathlib import Path

#: The ``--isa`` choices: numba's default (the host's ISA), or AVX2.
ISA_CHOICES = ("native", "avx2")


def host_features() -> list[str]:
    """The host CPU's LLVM features, e.g. ``["+avx2", "-avx512f", ...]``."""
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_features().flatten().split(",")


def engine_root() -> Path:
    """The folder of the ``factormap.engine`` package that will run (found without importing it)."""
    return Path(importlib.util.find_spec("factormap.engine").origin).parent


def source_fingerprint(root: Path) -> str:
    """12 hex digits of the SHA-256 of every ``.py`` file under ``root``: their paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def cache_dir(isa: str, root: Path | None = None) -> Path:
    """numba's cache folder for bench runs compiled for ``isa`` from the engine source under
    ``root`` (default :func:`engine_root`); kept between runs of the same source."""
    fingerprint = source_fingerprint(engine_root() if root is None else root)
    return Path(tempfile.gettempdir()) / f"factormap-bench-numba-{isa}-{fingerprint}"


def _needs_avx512(feature: str) -> bool:
    """Whether an enabled LLVM feature is, or implies, AVX-512 (``+avx512*``, ``+avx10*``, ``+amx-avx512``)."""
    return feature.startswith("+") and ("avx512" in feature or feature.startswith("+avx10"))


def isa_env(isa: str, features: list[str] | None = None) -> dict[str, str]:
    """The environment variables that make numba compile for ``isa`` (for ``native`` only the cache
    folder), into a cache folder of that ISA and the engine's source (:func:`cache_dir`).

    ``features``: the CPU's LLVM features (default: the host's, :func:`host_features`).

    Raises
    ------
    ValueError
        ``isa`` is not one of :data:`ISA_CHOICES`, or the CPU cannot run AVX2 code.
    """
    if isa not in ISA_CHOICES:
        raise ValueError(f"--isa must be one of {', '.join(ISA_CHOICES)}, not {isa!r}")
    if isa == "native":
        return {"NUMBA_CACHE_DIR": str(cache_dir(isa))}
    features = host_features() if features is None else features
    if "+avx2" not in features:
        raise ValueError("this CPU has no AVX2: --isa avx2 cannot run here")
    avx2 = ["-" + f[1:] if _needs_avx512(f) else f for f in features]
    return {"NUMBA_CPU_FEATURES": ",".join(avx2), "NUMBA_CACHE_DIR": str(cache_dir(isa))}

