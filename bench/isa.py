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
engine's source (as the engine's own cache folder is, :mod:`factormap.engine.kernels.cache_folder`),
in the temporary folder: a run never times kernels compiled from other source, and never fills
the engine's cache with AVX2 kernels.

OpenBLAS picks its kernels from the CPU itself (these variables do not reach it), so the floor
stays the machine's own: an AVX2 figure over it says what the AVX2 code leaves on the table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from factormap.engine.source_fingerprint import ENGINE_ROOT, source_fingerprint

#: The ``--isa`` choices: numba's default (the host's ISA), or AVX2.
ISA_CHOICES = ("native", "avx2")


def host_features() -> list[str]:
    """The host CPU's LLVM features, e.g. ``["+avx2", "-avx512f", ...]``."""
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_features().flatten().split(",")


def cache_dir(isa: str, root: Path = ENGINE_ROOT) -> Path:
    """numba's cache folder for bench runs compiled for ``isa`` from the engine source under
    ``root``; kept between runs of the same source."""
    return Path(tempfile.gettempdir()) / f"factormap-bench-numba-{isa}-{source_fingerprint(root)}"


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

