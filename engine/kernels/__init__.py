"""Private numba kernels. Call the validated public wrappers in ``factormap.engine`` instead."""
