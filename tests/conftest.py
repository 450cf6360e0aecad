"""Shared fixtures: random models, small texts, and the reference data where it exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factormap.engine.model import Model
from tests.naive import random_model_arrays

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
