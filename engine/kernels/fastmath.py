"""Vectorisable float32 approximations of tanh and exp, for loops numba compiles without SVML.

numba from the registry turns ``np.tanh``/``np.exp`` in a loop into one scalar libm call per
element; these inline into SIMD code (check with ``kernel.inspect_asm()``: zmm/ymm registers).

- ``tanh_f32`` is the rational approximation used by Eigen (``ptanh_float``: odd degree-13
  numerator, even degree-6 denominator, clamped at +-7.9053), absolute error below 2e-7 over the
  whole float range.
- ``exp_f32`` is Cephes' ``expf``: ``exp(x) = 2**n * exp(r)`` with ``n = round(x / ln 2)``,
  ``r = x - n ln 2`` (ln 2 split in two parts, Cody-Waite), ``exp(r)`` a degree-7 polynomial on
  [-ln2/2, ln2/2], and ``2**n`` built from the exponent bits. Relative error below 1e-7 for
  x >= -87; inputs are clamped at -87 (exp(-87) = 1.6e-38), so exp never underflows into
  denormals or garbage: the result for any x < -87 is exp(-87).

Kernels that call ``tanh_f32`` should be compiled with :data:`VECTOR_FLAGS`: numba's default
Python error model tests every float division for zero, which keeps the loop scalar, and fastmath's
``arcp`` turns the division into a 14-bit reciprocal estimate whose error, amplified by the
recurrence (spectral radius 2.76 on the reference model), moves h by 4e-3 over 1 KB instead of 2e-4.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from factormap.engine.config import NUMBA_FLAGS

#: numba flags of vectorised float32 kernels: fastmath without ``arcp`` (divisions stay exact),
#: and numpy's error model (no zero-division test per element).
VECTOR_FLAGS = dict(NUMBA_FLAGS, fastmath={"nnan", "ninf", "nsz", "contract", "afn", "reassoc"},
                    error_model="numpy")

_CLAMP = np.float32(7.90531110763549805)
_A1 = np.float32(4.89352455891786e-03)
_A3 = np.float32(6.37261928875436e-04)
_A5 = np.float32(1.48572235717979e-05)
_A7 = np.float32(5.12229709037114e-08)
_A9 = np.float32(-8.60467152213735e-11)
_A11 = np.float32(2.00018790482477e-13)
_A13 = np.float32(-2.76076847742355e-16)
_B0 = np.float32(4.89352518554385e-03)
_B2 = np.float32(2.26843463243900e-03)
_B4 = np.float32(1.18534705686654e-04)
_B6 = np.float32(1.19825839466702e-06)

#: exp_f32 clamps its argument here: exp(-87) is still a normal float32.
EXP_LOWEST = np.float32(-87.0)
_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_E0 = np.float32(1.9875691500e-4)
_E1 = np.float32(1.3981999507e-3)
_E2 = np.float32(8.3334519073e-3)
_E3 = np.float32(4.1665795894e-2)
_E4 = np.float32(1.6666665459e-1)
_E5 = np.float32(5.0000001201e-1)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


@njit(inline="always", **VECTOR_FLAGS)
def tanh_f32(x):
    """tanh(x) for a float32 scalar, as a rational function (inlined, vectorises in loops)."""
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p / q


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret an int32's bits as a float32 (an LLVM bitcast: free, and it vectorises)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


@njit(inline="always", **VECTOR_FLAGS)
def exp_f32(x):
    """exp(x) for a float32 scalar x <= 88 (Cephes expf; inlined, vectorises in loops)."""
    x = max(x, EXP_LOWEST)
    n = np.floor(x * _LOG2E + _HALF)
    r = x - n * _LN2_HI
    r = r - n * _LN2_LO
    y = ((((_E0 * r + _E1) * r + _E2) * r + _E3) * r + _E4) * r + _E5
    y = y * (r * r) + r + _ONE
    return y * _float32_from_bits((np.int32(n) + np.int32(127)) << 23)


@njit(**VECTOR_FLAGS)
def tanh_kernel(x, out):
    """``out[i] = tanh_f32(x[i])`` over float32 arrays (for tests and warm-up)."""
    for i in range(x.shape[0]):
        out[i] = tanh_f32(x[i])


@njit(**VECTOR_FLAGS)
def exp_kernel(x, out):
    """``out[i] = exp_f32(x[i])`` over float32 arrays (for tests and warm-up)."""
    for i in range(x.shape[0]):
        out[i] = exp_f32(x[i])


def warm(exact: bool = True) -> None:
    """Compile this module's kernels (fills numba's cache; all are float32, ``exact`` adds nothing)."""
    x = np.linspace(-3, 3, 8, dtype=np.float32)
    tanh_kernel(x, np.empty_like(x))
    exp_kernel(x, np.empty_like(x))
