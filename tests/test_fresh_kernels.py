"""The suite runs kernels compiled from the current source: numba's cache is this run's own.

A warm cache is not invalidated when a function that a kernel inlines from another file changes
(issue 16), so tests/conftest.py points ``NUMBA_CACHE_DIR`` at a new directory before numba loads.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numba


def test_numba_caches_into_a_directory_made_for_this_run():
    cache = Path(os.environ["NUMBA_CACHE_DIR"])
    assert cache.parent == Path(tempfile.gettempdir()) and cache.name.startswith("factormap-test-numba-")
    assert numba.config.CACHE_DIR == str(cache)
    from factormap.engine.kernels import recurrence

    recurrence.warm(exact=False)
    assert any(cache.rglob("*recurrence*.nbi")), "the kernels were cached somewhere else"


def test_subprocesses_inherit_the_runs_cache():
    out = subprocess.run([sys.executable, "-c", "import numba; print(numba.config.CACHE_DIR)"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == os.environ["NUMBA_CACHE_DIR"]
