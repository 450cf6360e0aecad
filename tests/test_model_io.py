"""Model loading and saving: round trips, and one clear sentence for every bad input."""

import os

import numpy as np
import pytest

from factormap.engine.errors import ModelError
from factormap.engine.model import Model, float_count, load_model, save_model


def test_float_count_of_reference_size():
    assert 4 * float_count(128) == 329_216


@pytest.mark.parametrize("H", [1, 7, 128])
def test_bin_round_trip(tmp_path, random_model, H):
    m = random_model(H)
    save_model(m, tmp_path / "m.bin")
    assert (tmp_path / "m.bin").stat().st_size == 4 * float_count(H)
    back = load_model(tmp_path / "m.bin")
    assert back.H == H
    for name in ("Wx", "Wh", "bh", "Wy", "by"):
        np.testing.assert_array_equal(getattr(back, name), getattr(m, name))


def test_bin_layout_is_the_documented_order(tmp_path, random_model):
    m = random_model(3)
    save_model(m, tmp_path / "m.bin")
    flat = np.fromfile(tmp_path / "m.bin", "<f4")
    expected = np.concatenate([m.Wx.ravel(), m.Wh.ravel(), m.bh, m.Wy.ravel(), m.by])
    np.testing.assert_array_equal(flat, expected)


def test_npz_round_trip(tmp_path, random_model):
    m = random_model(5)
    save_model(m, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.Wh, m.Wh)


def test_model_is_immutable(random_model):
    m = random_model(4)
    with pytest.raises(ValueError):
        m.Wh[0, 0] = 1.0
    with pytest.raises(AttributeError):
        m.Wh = np.zeros((4, 4))


def _expect(path, *fragments):
    with pytest.raises(ModelError) as info:
        load_model(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    for f in fragments:
        assert f in msg, msg


def test_missing_file(tmp_path):
    _expect(tmp_path / "nope.bin", "no such model file")


def test_directory(tmp_path):
    _expect(tmp_path, "is a directory")


def test_empty_file(tmp_path):
    (tmp_path / "e.bin").write_bytes(b"")
    _expect(tmp_path / "e.bin", "empty")


def test_truncated_by_one_byte(tmp_path, random_model):
    data = random_model(128).to_bin_bytes()[:-1]
    (tmp_path / "t.bin").write_bytes(data)
    _expect(tmp_path / "t.bin", "329,215 bytes", "not a whole number", "H=128", "329,216")


def test_size_matching_no_hidden_size(tmp_path):
    (tmp_path / "odd.bin").write_bytes(b"\0" * 4 * (float_count(128) + 3))
    _expect(tmp_path / "odd.bin", "matches no hidden size", "H=128")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tmp_path, random_model, bad):
    arr = np.frombuffer(random_model(4).to_bin_bytes(), "<f4").copy()
    arr[17] = bad
    arr.tofile(tmp_path / "nan.bin")
    _expect(tmp_path / "nan.bin", "NaN or Inf", "Wx")


def test_npz_missing_array(tmp_path, random_model):
    m = random_model(4)
    np.savez(tmp_path / "m.npz", Wx=m.Wx, Wh=m.Wh, bh=m.bh, Wy=m.Wy)
    _expect(tmp_path / "m.npz", "missing", "by")


def test_npz_misshaped_array(tmp_path, random_model):
    m = random_model(4)
    np.savez(tmp_path / "m.npz", Wx=m.Wx, Wh=m.Wh, bh=m.bh[:3], Wy=m.Wy, by=m.by)
    _expect(tmp_path / "m.npz", "bh", "shape")


def test_unreadable_file(tmp_path, random_model, monkeypatch):
    p = tmp_path / "m.bin"
    save_model(random_model(2), p)
    p.chmod(0)
    if os.geteuid() == 0:  # root reads every file: make the permission check see what a user would
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    _expect(p, "not readable")


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, random_model):
    save_model(random_model(2), tmp_path / "m.bin")
    assert [p.name for p in tmp_path.iterdir()] == ["m.bin"]


def test_loading_never_modifies_the_file(tmp_path, random_model):
    p = tmp_path / "m.bin"
    save_model(random_model(3), p)
    before = (p.read_bytes(), p.stat().st_mtime_ns)
    load_model(p)
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before


def test_model_rejects_wrong_shapes():
    with pytest.raises(ModelError):
        Model(Wx=np.zeros((3, 255)), Wh=np.zeros((3, 3)), bh=np.zeros(3), Wy=np.zeros((256, 3)), by=np.zeros(256))
