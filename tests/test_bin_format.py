"""The `.bin` checks that need no numpy (engine/bin_format.py) against the numpy loader: the same
values refused, the same hidden size, the same one-line messages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from factormap.engine.bin_format import array_shapes, check_bin_model, nonfinite_count, reads_as_raw_bin
from factormap.engine.errors import ModelError
from factormap.engine.model import float_count, load_model, save_model

SPECIAL = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, np.finfo(np.float32).max,
                    np.finfo(np.float32).tiny, 1e-45], np.float32)


def _numpy_nonfinite(data: bytes) -> int:
    return int(np.count_nonzero(~np.isfinite(np.frombuffer(data, "<f4"))))


@pytest.mark.parametrize("seed", range(6))
def test_nonfinite_count_is_numpys_on_any_bits(seed):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, size=4099, dtype=np.uint32)
    # exponents all ones (NaN payloads and infinities of both signs) and their neighbours, often
    bits[rng.random(bits.size) < 0.3] |= np.uint32(0x7F800000)
    bits[rng.random(bits.size) < 0.1] &= np.uint32(0xFF7FFFFF)  # one exponent bit short: finite
    data = np.concatenate([bits.view(np.float32), SPECIAL]).astype("<f4").tobytes()
    assert _numpy_nonfinite(data) > 0
    assert nonfinite_count(data) == _numpy_nonfinite(data)
    assert nonfinite_count(SPECIAL.astype("<f4").tobytes()) == 4


def _bin_of(arrays: dict[str, np.ndarray]) -> bytes:
    return b"".join(arrays[name].astype("<f4").tobytes() for name in array_shapes(arrays["Wh"].shape[0]))


def _arrays(H: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(H)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in array_shapes(H).items()}


def _outcome(check, path):
    try:
        return "ok", check(path)
    except ModelError as exc:
        return "refused", str(exc)


def _same_outcome(path):
    """check_bin_model and load_model agree: both refuse with the same message, or both accept (H)."""
    quick = _outcome(check_bin_model, path)
    loaded = _outcome(lambda p: load_model(p).H, path)
    assert quick == loaded
    return quick


@pytest.mark.parametrize("name", list(array_shapes(8)))
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_weights_are_refused_as_the_loader_does(tmp_path, name, value):
    arrays = _arrays()
    flat = arrays[name].reshape(-1)
    flat[[0, -1]] = value  # the first and the last value of the array: off-by-one edges
    path = tmp_path / "m.bin"
    path.write_bytes(_bin_of(arrays))
    outcome = _same_outcome(path)
    if name == "by" and value == -np.inf:  # a byte the model never predicts
        assert outcome == ("ok", 8)
    else:
        assert outcome == ("refused", f"{path}: 2 NaN or Inf value(s) in {name}; the weights are unusable")


def test_a_value_beside_an_array_is_counted_in_its_own_array(tmp_path):
    arrays = _arrays()
    arrays["bh"][-1] = np.nan  # the last value before Wy's first
    path = tmp_path / "m.bin"
    path.write_bytes(_bin_of(arrays))
    assert _same_outcome(path) == ("refused", f"{path}: 1 NaN or Inf value(s) in bh; the weights are unusable")


@pytest.mark.parametrize("size", [0, 3, 4 * float_count(8) + 4, 4 * (float_count(8) + 8)])
def test_bad_sizes_are_refused_as_the_loader_does(tmp_path, size):
    path = tmp_path / "m.bin"
    path.write_bytes(b"\0" * size)
    assert _same_outcome(path)[0] == "refused"


def test_paths_that_are_no_file_are_refused_as_the_loader_does(tmp_path):
    (tmp_path / "folder.bin").mkdir()
    for path in (tmp_path / "missing.bin", tmp_path / "folder.bin"):
        assert _same_outcome(path)[0] == "refused"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused_as_the_loader_does(tmp_path, random_model):
    path = tmp_path / "m.bin"
    save_model(random_model(8), path)
    path.chmod(0)
    assert _same_outcome(path)[0] == "refused"


def test_a_valid_model_gives_its_hidden_size(tmp_path, random_model):
    path = tmp_path / "m.bin"
    save_model(random_model(12), path)
    assert _same_outcome(path) == ("ok", 12)


def test_only_a_bin_that_is_no_zip_reads_as_raw(tmp_path, random_model):
    save_model(random_model(4), tmp_path / "m.bin")
    save_model(random_model(4), tmp_path / "m.npz")
    (tmp_path / "zipped.bin").write_bytes((tmp_path / "m.npz").read_bytes())  # a torch.save zip named .bin
    assert reads_as_raw_bin(tmp_path / "m.bin")
    assert not reads_as_raw_bin(tmp_path / "m.npz")
    assert not reads_as_raw_bin(tmp_path / "zipped.bin")


def test_the_checks_import_no_numpy(tmp_path, random_model):
    path = tmp_path / "m.bin"
    save_model(random_model(8), path)
    script = textwrap.dedent(f"""
        import sys
        from factormap.engine.bin_format import check_bin_model
        assert check_bin_model({str(path)!r}) == 8
        assert "numpy" not in sys.modules, "the .bin checks imported numpy"
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
