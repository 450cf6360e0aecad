"""numba compiles the kernels with 512-bit vectors on every AVX-512 CPU, and says which width it uses.

LLVM tunes several AVX-512 cores for 256-bit vectors (its ``prefer-256-bit`` tuning, which Intel
cores from Skylake-SP to Sapphire Rapids carry to avoid AVX-512's frequency drop on light
vector use). numba compiles for the host's CPU name, so there it emits ymm code: loops vectorise
8 floats at a time, and the kernels' own 16-float IR vectors (:mod:`.matvec`, :mod:`.logit_tile`)
are each split into two ymm, so a tile laid out for the 32 zmm registers spills. The engine's
kernels are long runs of FMAs, the case the frequency drop is worth paying for: on a 2-core Xeon
that LLVM names ``rocketlake`` (2 GHz), A/B in the same hour, the readout alone went from 1.19 to
0.78 us per byte, the recurrence alone from 0.73 to 0.58 and one attribution from 87 to 65 us.

So, before numba builds its code generator, :func:`prefer_full_width` sets numba's CPU features
to the host's with that tuning off (``-prefer-256-bit``; on AVX-512 cores LLVM does not tune so, the
switch changes nothing). It leaves numba as it is when the user chose the features
(``NUMBA_CPU_FEATURES`` or ``NUMBA_CPU_NAME``) or when this process had compiled numba code before
the engine was imported; :data:`WIDE_VECTORS` then says what numba really does. numba's on-disk
cache keys each kernel by these features, so kernels compiled either way never mix.
"""

import llvmlite.binding as llvm
from numba.core import config
from numba.core.registry import cpu_target

#: The LLVM feature that turns off the tuning for 256-bit vectors.
NO_256_BIT_PREFERENCE = "-prefer-256-bit"


def full_width_features(host_features: str) -> str | None:
    """``host_features`` (LLVM's comma-separated list) with 256-bit vectors no longer preferred,
    or None where there is no AVX-512 (``+avx512f``) to widen to."""
    if "+avx512f" not in host_features.split(","):
        return None
    return f"{host_features},{NO_256_BIT_PREFERENCE}"


def uses_512_bit_vectors(features: str) -> bool:
    """Whether numba's code for ``features`` (a code generator's list) uses 512-bit vectors: AVX-512
    with the 256-bit preference turned off. A list without the switch counts as narrow even on a
    core that LLVM would not tune for 256 bits: the narrow choice never spills."""
    listed = features.split(",")
    return "+avx512f" in listed and NO_256_BIT_PREFERENCE in listed


def prefer_full_width() -> str:
    """Set numba's CPU features to :func:`full_width_features` of the host unless the user or an
    earlier compile in this process chose them, then build numba's code generator (5 ms) so that
    a later reload of numba's configuration cannot undo the choice. Returns the features numba
    compiles for."""
    already_built = "_toplevel_target_context" in vars(cpu_target)
    if not already_built and config.CPU_FEATURES is None and config.CPU_NAME is None:
        wide = full_width_features(llvm.get_host_cpu_features().flatten())
        if wide is not None:
            config.CPU_FEATURES = wide
    return cpu_target.target_context.codegen().magic_tuple()[2]


#: The LLVM features numba compiles the engine's kernels for.
COMPILED_FEATURES = prefer_full_width()
#: Whether those kernels use 512-bit vectors (zmm); else 256-bit ones (ymm) or narrower.
WIDE_VECTORS = uses_512_bit_vectors(COMPILED_FEATURES)
