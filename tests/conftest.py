"""Shared fixtures: random models, small texts, and the reference data where it exists.

Every test run compiles the kernels from the current source into a cache directory of its own
(``NUMBA_CACHE_DIR``, removed at exit): numba does not invalidate a cached kernel when a function it
inlines from another file changes, so a warm cache once hid a sign flip in a state edit (issue 16).
Subprocesses the tests start inherit the variable, and so share the run's cache; so do the two
pytest-xdist workers the suite runs on (``-n 2`` in ``pyproject.toml``), which the controller starts
after this file made the directory.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

if "PYTEST_XDIST_WORKER" in os.environ:  # a pytest-xdist worker: the run's directory, made by the controller
    NUMBA_CACHE_DIR = os.environ["FACTORMAP_TEST_NUMBA_CACHE_DIR"]
else:
    NUMBA_CACHE_DIR = tempfile.mkdtemp(prefix="factormap-test-numba-")
    os.environ["FACTORMAP_TEST_NUMBA_CACHE_DIR"] = NUMBA_CACHE_DIR
    atexit.register(shutil.rmtree, NUMBA_CACHE_DIR, ignore_errors=True)
os.environ["NUMBA_CACHE_DIR"] = NUMBA_CACHE_DIR
if "numba" in sys.modules:  # a plugin imported numba before this file: it read the variable already
    sys.modules["numba"].config.CACHE_DIR = NUMBA_CACHE_DIR

# numba is imported by the engine: only after the lines above
from factormap.engine.model import Model  # noqa: E402
from tests.naive import random_model_arrays  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
REF_MODEL = REFERENCE / "sat_model.bin"
REF_TEXT = REFERENCE / "enwik_1024.txt"

SAMPLE_TEXT = (
    b'<page>\n  <title>Anarchism</title>\n  <id>12</id>\n  <text xml:space="preserve">'
    b"Anarchism is a political philosophy that advocates [[self-governed]] societies "
    b"based on voluntary institutions. In 1840 it was named.</text>\n</page>\n"
)


@pytest.fixture
def random_model():
    """Factory: ``random_model(H, seed=0)`` -> a float32 Model."""

    def make(H: int = 16, seed: int = 0, scale: float = 1.0) -> Model:
        return Model(**random_model_arrays(H, seed, scale), source=f"random H={H} seed={seed}")

    return make


@pytest.fixture
def sample_text() -> bytes:
    """A few hundred bytes of wiki-like XML."""
    return SAMPLE_TEXT


@pytest.fixture(scope="session")
def reference():
    """(model, text) of ../shared/reference; skips where that folder is absent."""
    if not (REF_MODEL.is_file() and REF_TEXT.is_file()):
        pytest.skip("../shared/reference is absent")
    from factormap.engine.model import load_model

    return load_model(REF_MODEL), REF_TEXT.read_bytes()


@pytest.fixture
def rng():
    """A seeded numpy Generator."""
    return np.random.default_rng(1234)


def pytest_addoption(parser):
    """``--monkey-examples N``: a longer run of tests/test_monkey.py (N examples of 25 steps)."""
    parser.addoption("--monkey-examples", type=int, default=0,
                     help="examples of the monkey test (0: the default suite's small fixed budget)")
