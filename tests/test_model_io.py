"""Model loading and saving: round trips, and one clear sentence for every bad input."""

import os

import numpy as np
import pytest

from factormap.engine import bin_format
from factormap.engine.config import MAX_MODEL_BYTES
from factormap.engine.errors import ModelError, OutputError
from factormap.engine.model import ARRAY_NAMES, Model, float_count, load_model, save_model
from factormap.engine.output import atomic_write_bytes


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


def test_a_text_of_another_suffix_is_no_model_of_any_format(tmp_path, sample_text):
    """Its size is not a .bin's: the message says it is no model, not which H it is nearest to."""
    (tmp_path / "t.txt").write_bytes(sample_text)
    _expect(tmp_path / "t.txt", "not a model file", "PyTorch checkpoint", ".npz", "raw float32 .bin",
            f"{len(sample_text):,} bytes")
    with pytest.raises(ModelError) as err:
        load_model(tmp_path / "t.txt")
    assert "nearest valid" not in str(err.value)


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


# -- hostile files: refused in one sentence, before anything large is read ---------------------

def test_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.bin")
    _expect(tmp_path / "pipe.bin", "not a regular file")


def _sparse(path, size):
    """A file of ``size`` bytes that occupies no disk (and is never read by a correct loader)."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def test_model_above_the_fixed_cap_is_refused_unread(tmp_path, monkeypatch):
    p = _sparse(tmp_path / "huge.bin", 4 * float_count(24_000))  # a valid H, 2.35 GB
    assert p.stat().st_size > MAX_MODEL_BYTES
    monkeypatch.setattr(np, "fromfile", _never_called)
    _expect(p, "larger than any model", f"{MAX_MODEL_BYTES:,}")


def test_model_larger_than_free_memory_is_refused_unread(tmp_path, monkeypatch):
    size = 4 * float_count(20_000)  # a valid H under the cap: 1.6 GB
    p = _sparse(tmp_path / "big.bin", size)
    monkeypatch.setattr(bin_format, "available_memory", lambda: 2 * size)
    monkeypatch.setattr(np, "fromfile", _never_called)
    _expect(p, "memory", f"{3 * size:,}", f"{2 * size:,} bytes are available")


def test_memory_check_passes_a_model_that_fits(tmp_path, random_model, monkeypatch):
    p = tmp_path / "m.bin"
    save_model(random_model(4), p)
    monkeypatch.setattr(bin_format, "available_memory", lambda: 3 * p.stat().st_size)
    assert load_model(p).H == 4


def test_npz_larger_than_free_memory_is_refused_unread(tmp_path, random_model, monkeypatch):
    m = random_model(64)
    p = tmp_path / "m.npz"
    np.savez_compressed(p, **{n: getattr(m, n) for n in ARRAY_NAMES})
    assert p.stat().st_size < 4 * m.n_params  # compressed: the file size alone would not tell
    monkeypatch.setattr(bin_format, "available_memory", lambda: 4 * m.n_params)
    monkeypatch.setattr(np, "load", _never_called)
    _expect(p, "memory", "available")


def _never_called(*args, **kwargs):
    raise AssertionError("the loader read a file it should have refused from its size")


def test_npz_suffix_on_a_file_that_is_not_a_zip(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"hello, I am a text\n" * 10)
    _expect(tmp_path / "m.npz", "not a .npz archive")


def test_npy_file_named_npz(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros(3, np.float32))
    (tmp_path / "m.npy").rename(tmp_path / "m.npz")
    _expect(tmp_path / "m.npz", "not a .npz archive")


def test_npz_with_a_corrupt_member(tmp_path, random_model):
    m = random_model(4)
    p = tmp_path / "m.npz"
    np.savez(p, **{n: getattr(m, n) for n in ARRAY_NAMES})
    data = bytearray(p.read_bytes())
    start = data.index(b"\x93NUMPY")  # damage the first array's header, keep the zip directory intact
    data[start:start + 6] = b"garbag"
    p.write_bytes(bytes(data))
    _expect(p, "not a readable .npz archive")


@pytest.mark.parametrize("name, value, fragment", [
    ("Wh", np.zeros((4, 5), np.float32), "shape"),
    ("Wh", np.zeros(4, np.float32), "shape"),
    ("Wx", np.zeros((4, 256), np.int32), "dtype"),
    ("by", np.array(["a"] * 256), "dtype"),
    ("Wy", np.zeros((4, 256), np.float32), "shape"),
])
def test_npz_arrays_of_the_wrong_kind(tmp_path, random_model, name, value, fragment):
    arrays = {n: getattr(random_model(4), n) for n in ARRAY_NAMES}
    arrays[name] = value
    np.savez(tmp_path / "m.npz", **arrays)
    _expect(tmp_path / "m.npz", name, fragment)


def test_npz_with_nan_weights(tmp_path, random_model):
    arrays = {n: getattr(random_model(4), n).copy() for n in ARRAY_NAMES}
    arrays["Wy"][3, 1] = np.nan
    np.savez(tmp_path / "m.npz", **arrays)
    _expect(tmp_path / "m.npz", "NaN or Inf", "Wy")


def test_file_vanishing_during_the_read_is_a_model_error(tmp_path, random_model, monkeypatch):
    p = tmp_path / "m.bin"
    save_model(random_model(2), p)

    def vanish(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(np, "fromfile", vanish)
    _expect(p, "cannot read", "No such file")


# -- interrupted writes: the old file or the complete new one, never a half file or a temp file --

@pytest.mark.parametrize("fail_in", ["write", "fsync", "replace"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError])
def test_interrupted_atomic_write_keeps_the_old_file(tmp_path, monkeypatch, fail_in, exc):
    p = tmp_path / "m.bin"
    p.write_bytes(b"old contents")

    def interrupt(*args, **kwargs):
        raise exc()

    if fail_in == "write":
        real_fdopen = os.fdopen

        def fdopen_half_writing(fd, mode):
            fh = real_fdopen(fd, mode)
            real_write = fh.write
            fh.write = lambda data: (real_write(data[: len(data) // 2]), interrupt())
            return fh

        monkeypatch.setattr(os, "fdopen", fdopen_half_writing)
    else:
        monkeypatch.setattr(os, fail_in, interrupt)
    with pytest.raises(OutputError if exc is OSError else exc, match=None if exc is KeyboardInterrupt else str(p)):
        atomic_write_bytes(p, b"new contents, much longer than the old ones" * 1000)
    assert p.read_bytes() == b"old contents"
    assert [q.name for q in tmp_path.iterdir()] == ["m.bin"]


def test_atomic_write_replaces_completely(tmp_path):
    p = tmp_path / "m.bin"
    p.write_bytes(b"old contents that are longer than the new")
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    assert [q.name for q in tmp_path.iterdir()] == ["m.bin"]


def test_atomic_write_keeps_the_file_mode(tmp_path):
    p = tmp_path / "m.bin"
    p.write_bytes(b"old")
    p.chmod(0o640)
    atomic_write_bytes(p, b"new")
    assert p.stat().st_mode & 0o777 == 0o640


def test_atomic_write_gives_a_new_file_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "new.bin", b"data")
    finally:
        os.umask(umask)
    assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644


def test_an_overflowing_edit_is_named_as_an_edit(random_model):
    m = random_model(3)
    with np.errstate(over="ignore"):
        huge = (m.Wy * np.float32(1e38)) * np.float32(1e38)
    with pytest.raises(ModelError) as info:
        m.replace(Wy=huge)
    assert "edited Wy" in str(info.value) and "too large" in str(info.value)
