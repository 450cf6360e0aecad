"""Property-based tests: whatever bytes are on disk, the loaders raise only their documented errors,
and the session's streamed, checkpointed states always equal the full forward pass."""

import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from factormap.engine.errors import ModelError, TextError
from factormap.engine.forward import forward
from factormap.engine.model import ARRAY_NAMES, Model, float_count, load_model
from factormap.engine.session import Session
from factormap.engine.text import load_text
from tests.naive import random_model_arrays

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

any_float32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _load_or_model_error(path):
    try:
        model = load_model(path)
    except ModelError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(model, Model)
    assert all(np.all(np.isfinite(getattr(model, n))) for n in ARRAY_NAMES)
    return model


@st.composite
def bin_files(draw):
    """Random bytes of a random size, or a valid size (H = 1..3) full of any float32 values."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=4 * float_count(2) + 8))
    H = draw(st.integers(1, 3))
    flat = draw(hnp.arrays(np.float32, float_count(H), elements=any_float32))
    cut = draw(st.sampled_from([0, 0, 1, 3, 4]))  # sometimes truncated
    data = flat.astype("<f4").tobytes()
    return data[:len(data) - cut]


@FAST
@given(data=bin_files(), suffix=st.sampled_from([".bin", "", ".npz", ".txt"]))
def test_bin_files_load_or_raise_model_error(tmp_path, data, suffix):
    path = _write(tmp_path, f"model{suffix}", data)
    model = _load_or_model_error(path)
    if model is not None:
        np.testing.assert_array_equal(np.frombuffer(model.to_bin_bytes(), "<f4"), np.frombuffer(data, "<f4"))


array_dtypes = st.sampled_from([np.float16, np.float32, np.float64, np.int32, np.bool_, np.complex64])


@st.composite
def npz_archives(draw):
    """An .npz with some of the five arrays (and maybe extras), of random shapes, dtypes and values."""
    H = draw(st.integers(1, 3))
    right = {"Wx": (H, 256), "Wh": (H, H), "bh": (H,), "Wy": (256, H), "by": (256,)}
    arrays = {}
    for name in ARRAY_NAMES + ("extra",):
        if not draw(st.integers(0, 5)):
            continue  # missing
        shape = right.get(name, (2,))
        if draw(st.integers(0, 3)) == 0:
            shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
        dtype = np.float32 if draw(st.booleans()) else draw(array_dtypes)
        elements = any_float32 if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize >= 4 else None
        arrays[name] = draw(hnp.arrays(dtype, shape, elements=elements))
    buf = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buf, **arrays)
    data = buf.getvalue()
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        pos = draw(st.integers(0, len(data) - 1))
        data = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
    return data


@FAST
@given(data=npz_archives(), suffix=st.sampled_from([".npz", ".bin"]))
def test_npz_archives_load_or_raise_model_error(tmp_path, data, suffix):
    _load_or_model_error(_write(tmp_path, f"model{suffix}", data))


@FAST
@given(head=st.sampled_from([b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY", b""]), rest=st.binary(max_size=400))
def test_files_that_start_like_archives_raise_model_error(tmp_path, head, rest):
    _load_or_model_error(_write(tmp_path, "model.npz", head + rest))


def test_every_damaged_byte_of_a_compressed_npz_is_a_model_error(tmp_path, random_model):
    """Flip bits all along a small compressed archive: headers, deflate streams, CRCs, directory."""
    m = random_model(2)
    buf = io.BytesIO()
    np.savez_compressed(buf, **{n: getattr(m, n) for n in ARRAY_NAMES})
    data = buf.getvalue()
    for pos in range(0, len(data), 5):
        damaged = data[:pos] + bytes([data[pos] ^ (0x01 if pos % 2 else 0x80)]) + data[pos + 1:]
        _load_or_model_error(_write(tmp_path, "model.npz", damaged))


def test_npy_file_named_npz_is_a_model_error(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 3), np.float32))
    _load_or_model_error(_write(tmp_path, "model.npz", buf.getvalue()))


def test_zip_of_non_arrays_is_a_model_error(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in ARRAY_NAMES:
            archive.writestr(f"{name}.npy", b"not an array at all")
    _load_or_model_error(_write(tmp_path, "model.npz", buf.getvalue()))


@FAST
@given(data=st.binary(max_size=3000))
def test_any_bytes_load_as_a_text_or_raise_text_error(tmp_path, data):
    path = _write(tmp_path, "text.txt", data)
    try:
        assert load_text(path) == data
    except TextError as exc:
        assert len(data) < 2 and str(path) in str(exc)


MODEL = Model(**random_model_arrays(6, seed=3, scale=0.8))


@settings(max_examples=40, deadline=None)
@given(text=st.binary(min_size=2, max_size=3000), checkpoint_every=st.integers(1, 300),
       chunk=st.integers(1, 1200), keep_all=st.booleans(), data=st.data())
def test_session_states_equal_the_full_pass(text, checkpoint_every, chunk, keep_all, data):
    full = forward(MODEL, text)
    s = Session(MODEL, text, checkpoint_every=checkpoint_every, chunk=chunk,
                full_states_limit=len(text) if keep_all else 0)
    try:
        for _ in range(3):
            t0 = data.draw(st.integers(0, len(text) - 1), label="t0")
            t1 = data.draw(st.integers(t0 + 1, len(text)), label="t1")
            np.testing.assert_array_equal(s.states(t0, t1), full.states[t0:t1])
            t = data.draw(st.integers(0, len(text) - 1), label="t")
            np.testing.assert_array_equal(s.state_before(t), full.states[t - 1] if t else np.zeros(MODEL.H))
        np.testing.assert_allclose(s.bits_range(0, len(text)), full.bits, atol=1e-5)
        assert np.isfinite(s.bpc)
    finally:
        s.close()


@st.composite
def float_arrays(draw, shape):
    """The right shape most of the time, else a random one; any float32 values, NaN and inf too."""
    if draw(st.integers(0, 4)) == 0:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    return draw(hnp.arrays(np.float32, shape, elements=any_float32))


@FAST
@given(H=st.integers(1, 3), data=st.data())
def test_model_from_any_float_arrays_is_valid_or_a_model_error(H, data):
    shapes = {"Wx": (H, 256), "Wh": (H, H), "bh": (H,), "Wy": (256, H), "by": (256,)}
    arrays = {n: data.draw(float_arrays(shape), label=n) for n, shape in shapes.items()}
    try:
        model = Model(**arrays)
    except ModelError:
        return
    assert model.H == H and all(np.all(np.isfinite(getattr(model, n))) for n in ARRAY_NAMES)


#: Any finite float32 weights: huge (logits past float32's range are recomputed in float64), tiny, subnormal.
bounded_float32 = st.one_of(st.floats(width=32, allow_nan=False, allow_infinity=False),
                            st.sampled_from([float(np.float32(v)) for v in (1e-45, -1e-45, 1e-38, 0.0)]))


@FAST
@given(H=st.integers(1, 3), text=st.binary(min_size=2, max_size=200), data=st.data())
def test_any_finite_weights_give_finite_bits(H, text, data):
    shapes = {"Wx": (H, 256), "Wh": (H, H), "bh": (H,), "Wy": (256, H), "by": (256,)}
    model = Model(**{n: data.draw(hnp.arrays(np.float32, shape, elements=bounded_float32), label=n)
                     for n, shape in shapes.items()})
    for m in (model, model.astype(np.float64)):
        result = forward(m, text)
        assert np.all(np.abs(result.states) <= 1)
        assert np.all(np.isfinite(result.bits)) and np.all((result.bits >= 0) & (result.bits <= 26.6))
