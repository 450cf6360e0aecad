"""Vectorisable float32 approximations of tanh, for loops numba compiles without SVML.

numba from the registry turns ``np.tanh`` in a loop into one scalar libm call per element; these
inline into SIMD code. ``tanh_f32`` is the rational approximation used by Eigen
(``ptanh_float``: odd degree-13 numerator, even degree-6 denominator, clamped at +-7.9053),
absolute error below 2e-7 over the whole float range.
"""

import numpy as np
from numba import njit

from factormap.engine.config import NUMBA_FLAGS

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


@njit(inline="always", **NUMBA_FLAGS)
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
