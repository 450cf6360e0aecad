"""Private numba kernels. Call the validated public wrappers in ``factormap.engine`` instead.

Warm-up convention: a module under ``factormap.engine`` (kernel module or public wrapper) that
compiles numba code defines ``warm(exact: bool = True) -> None``, calling its kernels on tiny inputs
of every array type the engine really passes them: each dtype (float32 and float64 models) and the
read-only flag of model weights, since numba compiles and caches one specialisation per argument
type. With ``exact`` false it compiles only the fast float32 paths (what the explorer runs), not
the float64 and ``exact=True`` ones. ``factormap-tui warmup``
(:func:`factormap.engine.warmup.warm_engine`) finds every such ``warm()`` and calls it, so the
on-disk cache is full before the app's first frame. A ``warm()`` must be fast once the cache is
warm and must not touch files of the user.

Importing this package sets the CPU features numba compiles every kernel for
(:mod:`.vector_width`) and the folder numba caches them in (:mod:`.cache_folder`), so it imports
numba.
"""

import numpy as np

# Before any kernel module compiles: numba's cache folder, named after the engine's source, and its
# CPU features (512-bit vectors on AVX-512 hosts).
from factormap.engine.kernels import cache_folder, vector_width  # noqa: F401


#: Bytes of a cache line: arrays the kernels stream start on one, so no SIMD load straddles two.
CACHE_LINE = 64


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous copy of ``a`` whose data starts on a cache line.

    numpy aligns small allocations to 16 bytes only; a 64-byte zmm load from such an array spans
    two cache lines, which costs the recurrence 35-45% (measured on the reference model, WhT 48 bytes
    past a cache line).
    """
    raw = np.empty(a.nbytes + CACHE_LINE, np.uint8)
    start = (-raw.ctypes.data) % CACHE_LINE
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return read_only(out)


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a``: wrappers pass inputs this way so each kernel sees one array type."""
    view = a.view()
    view.setflags(write=False)
    return view
