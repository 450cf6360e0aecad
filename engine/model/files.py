"""Reading and writing model files: raw `.bin`, `.npz`, and PyTorch checkpoints, told apart by suffix
or contents.

The `.bin` format is raw little-endian float32 with no header, in this order::

    Wx[H][256], Wh[H][H], bh[H], Wy[256][H], by[256]

so a file holds ``H**2 + 513*H + 256`` floats and H is solved from its size (329,216 bytes is
H = 128). An `.npz` holds arrays named ``Wx, Wh, bh, Wy, by`` of those shapes. PyTorch checkpoints
(``torch.save`` state_dicts, `.safetensors`) are read through :mod:`factormap.engine.checkpoints`.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from factormap.engine.checkpoints import CHECKPOINT_SUFFIXES, arrays_from_state_dict, checkpoint_kind, \
    read_checkpoint
from factormap.engine.config import MAX_MODEL_BYTES
from factormap.engine.errors import ModelError
from factormap.engine.memory import available_memory
from factormap.engine.model.weights import ARRAY_NAMES, Model, array_shapes, float_count, hidden_size_for
from factormap.engine.output import atomic_write_bytes

#: Loading and running a model holds about this many copies of its weights at once: the bytes
#: read from the file, the model's own arrays, and the transposed copies the kernels stream.
MODEL_MEMORY_FACTOR = 3

#: Everything that can go wrong while numpy unpacks a hostile or damaged `.npz` archive.
_NPZ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, KeyError,
               NotImplementedError, RuntimeError, MemoryError)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a model file")
    if not path.is_file():
        raise ModelError(f"{path}: is not a regular file (a device, pipe or socket), not a model file")
    if not os.access(path, os.R_OK):
        raise ModelError(f"{path}: model file is not readable (permission denied)")


def _check_fits(path: Path, weight_bytes: int, what: str = "model file is") -> None:
    """Refuse weights stored in ``weight_bytes`` bytes if above the cap or the available memory."""
    if weight_bytes > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: {what} {weight_bytes:,} bytes, larger than any model this tool will load "
                         f"({MAX_MODEL_BYTES:,} bytes)")
    free = available_memory()
    if free is not None and MODEL_MEMORY_FACTOR * weight_bytes > free:
        raise ModelError(f"{path}: {what} {weight_bytes:,} bytes and running it needs about "
                         f"{MODEL_MEMORY_FACTOR * weight_bytes:,} bytes of memory, but only "
                         f"{free:,} bytes are available")


def _nearest_valid(n_floats: int) -> str:
    root = hidden_size_for(max(n_floats, 0))
    lo = max(1, math.floor(root))
    cands = sorted({lo, lo + 1}, key=lambda h: abs(float_count(h) - n_floats))
    h = cands[0]
    return f"H={h} would need {4 * float_count(h):,} bytes"


def _two_biases_hint(n_floats: int) -> str:
    """A hint when ``n_floats`` is a model of some H plus H more floats: PyTorch's two hidden biases."""
    hidden = round(hidden_size_for(n_floats))  # within 1 of the H that has H² + 514·H + 256 floats
    for h in (hidden - 1, hidden, hidden + 1):
        if h >= 1 and float_count(h) + h == n_floats:
            return (f"; it is exactly H={h} with a second hidden bias: this format has one bh = "
                    f"bias_ih_l0 + bias_hh_l0 (sum them, or open the .pt/.safetensors file itself)")
    return ""


def _bin_hidden_size(size: int) -> int | None:
    """The hidden size H whose raw float32 `.bin` model has ``size`` bytes, or None if no H has."""
    hidden = round(hidden_size_for(size // 4)) if size > 0 and size % 4 == 0 else 0
    return hidden if hidden >= 1 and 4 * float_count(hidden) == size else None


def _load_bin(path: Path) -> Model:
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path}: model file is empty (expected {4 * float_count(128):,} bytes for H=128)")
    _check_fits(path, size)
    if size % 4:
        raise ModelError(f"{path}: size {size:,} bytes is not a whole number of float32 values; "
                         f"nearest valid: {_nearest_valid(size // 4)}")
    n = size // 4
    hidden = _bin_hidden_size(size)
    if hidden is None:
        raise ModelError(f"{path}: size {size:,} bytes matches no hidden size; nearest valid: "
                         f"{_nearest_valid(n)}{_two_biases_hint(n)}")
    try:
        flat = np.fromfile(path, dtype="<f4")
    except MemoryError:
        raise ModelError(f"{path}: not enough memory to read the model file ({size:,} bytes)") from None
    if flat.size != n:
        raise ModelError(f"{path}: the file changed size while it was read; try again")
    arrays, pos = {}, 0
    for name, shape in array_shapes(hidden).items():
        cnt = int(np.prod(shape))
        arrays[name] = flat[pos:pos + cnt].reshape(shape)  # Model copies it into its own array
        pos += cnt
    return Model(**arrays, source=str(path))


def _as_float(path: Path, arrays: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """The arrays as ``dtype``, refused if not floats or holding values beyond its range (a cast
    would turn them into Inf, with a RuntimeWarning)."""
    limit = float(np.finfo(dtype).max)
    for n, a in arrays.items():
        if not np.issubdtype(a.dtype, np.floating):
            raise ModelError(f"{path}: array {n} has dtype {a.dtype}, expected floats")
        if a.dtype.itemsize > np.dtype(dtype).itemsize:
            largest = float(np.max(np.abs(a), where=np.isfinite(a), initial=0.0))
            if largest > limit:
                raise ModelError(f"{path}: array {n} holds values up to {largest:.3g}, beyond "
                                 f"{np.dtype(dtype).name}'s range ({limit:.3g})")
    return {n: a.astype(dtype) for n, a in arrays.items()}


def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of a member's `.npy` header (unpacks only the header)."""
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(fh)
        return tuple(shape), dtype, fh.tell()


def _check_npz_members(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse, from the zip's directory and the `.npy` headers alone, arrays of the wrong shape or
    members that unpack to more than their array needs: a small file could otherwise unpack to
    gigabytes before its shape is seen. Archives without the five names are left to the loader."""
    members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
    if not all(n in members for n in ARRAY_NAMES):
        return
    headers = {n: _npy_header(archive, members[n]) for n in ARRAY_NAMES}
    wh_shape = headers["Wh"][0]
    if len(wh_shape) != 2 or wh_shape[0] != wh_shape[1] or wh_shape[0] < 1:
        raise ModelError(f"{path}: array Wh has shape {wh_shape}, expected (H, H)")
    expected, total = array_shapes(wh_shape[0]), 0
    for n, (shape, dtype, header_bytes) in headers.items():
        if shape != expected[n]:
            raise ModelError(f"{path}: array {n} has shape {shape}, expected {expected[n]} for H={wh_shape[0]}")
        if dtype.kind != "f":
            raise ModelError(f"{path}: array {n} has dtype {dtype}, expected floats")
        need = header_bytes + math.prod(shape) * dtype.itemsize
        if members[n].file_size > need:
            raise ModelError(f"{path}: member {n}.npy unpacks to {members[n].file_size:,} bytes but its "
                             f"{shape} {dtype} array needs {need:,}; the archive is damaged or hostile")
        total += need
    _check_fits(path, total, "model unpacks to")


def _npz_unpacked_bytes(path: Path) -> int:
    """Total uncompressed size of the archive's members (the arrays' bytes plus small headers)."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def _load_npz(path: Path, dtype) -> Model:
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a .npz archive (a .npz is a zip file of named arrays)")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_npz_members(path, archive)
        _check_fits(path, _npz_unpacked_bytes(path), "model unpacks to")
        with np.load(path, allow_pickle=False) as data:
            missing = [n for n in ARRAY_NAMES if n not in data.files]
            if missing and any("weight" in f for f in data.files):  # a state_dict saved by name
                arrays = arrays_from_state_dict({f: data[f] for f in data.files}, str(path))
            elif missing:
                raise ModelError(f"{path}: .npz is missing array(s) {', '.join(missing)} "
                                 f"(needs {', '.join(ARRAY_NAMES)}, or a PyTorch RNN's weight_ih_l0, ...)")
            else:
                arrays = {n: np.asarray(data[n]) for n in ARRAY_NAMES}
    except _NPZ_ERRORS as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path}: not a readable .npz archive ({exc.__class__.__name__})") from None
    arrays = _as_float(path, arrays, dtype)
    if arrays["Wh"].ndim != 2:
        raise ModelError(f"{path}: array Wh has shape {arrays['Wh'].shape}, expected (H, H)")
    return Model(**arrays, source=str(path))


def _load_checkpoint(path: Path, dtype) -> Model:
    _check_fits(path, path.stat().st_size)
    return Model(**_as_float(path, read_checkpoint(path), dtype), source=str(path))


def load_model(path: str | os.PathLike, dtype=np.float32) -> Model:
    """Read a model from a `.bin` (raw float32), `.npz`, torch `.pt`/`.pth` or `.safetensors` file;
    never writes anything and never runs code from the file.

    The format follows the suffix (`.bin`, `.npz`, `.pt`, `.pth`, `.safetensors`); a file with
    another suffix is recognised by its contents. ``dtype`` is the type of the model's arrays:
    float32 (the weights rounded to it) or float64 (the weights kept as given: float32 values
    widened exactly, float64 ones and a PyTorch RNN's summed biases unrounded).

    Weights too large for the cap :data:`~factormap.engine.config.MAX_MODEL_BYTES`, or needing
    more than the available memory (:data:`MODEL_MEMORY_FACTOR` times their float32 size), are
    refused from the file's size before anything is read.

    Raises
    ------
    ModelError
        one sentence naming the file and the problem (missing, a directory, empty,
        a size that matches no H with the nearest valid H, a file of another suffix that is no
        model of any format, too large for memory, NaN/Inf weights, bad arrays).
    """
    path = Path(path)
    try:
        _check_path(path)
        suffix = path.suffix.lower()
        if suffix in CHECKPOINT_SUFFIXES or (suffix not in (".bin", ".npz")
                                             and checkpoint_kind(path) in ("torch", "safetensors")):
            return _load_checkpoint(path, dtype)
        if suffix == ".npz" or zipfile.is_zipfile(path):
            return _load_npz(path, dtype)
        if suffix != ".bin" and _bin_hidden_size(path.stat().st_size) is None:  # a text, say: no .bin size talk
            raise ModelError(f"{path}: not a model file: neither a PyTorch checkpoint (.pt/.pth state_dict, "
                             f".safetensors), an .npz archive, nor a raw float32 .bin (no hidden size has "
                             f"{path.stat().st_size:,} bytes)")
        model = _load_bin(path)
        return model if model.dtype == dtype else model.astype(dtype)
    except OSError as exc:  # the file vanished or failed between the checks and the read
        raise ModelError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None


def save_model(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` atomically as `.bin` (float32) or, for a `.npz` suffix, as named arrays."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        import io

        buf = io.BytesIO()
        np.savez(buf, **{n: getattr(model, n).astype(np.float32) for n in ARRAY_NAMES})
        atomic_write_bytes(path, buf.getvalue())
    else:
        atomic_write_bytes(path, model.to_bin_bytes())
