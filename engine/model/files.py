"""Reading and writing model files: raw `.bin`, `.npz`, and PyTorch checkpoints, told apart by suffix
or contents.

The `.bin` format (raw little-endian float32, no header: ``Wx, Wh, bh, Wy, by``) and its checks
are in :mod:`factormap.engine.bin_format`. An `.npz` holds arrays named ``Wx, Wh, bh, Wy, by`` of
those shapes. PyTorch checkpoints (``torch.save`` state_dicts, `.safetensors`) are read through
:mod:`factormap.engine.checkpoints`.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from factormap.engine.bin_format import ARRAY_NAMES, array_shapes, bin_hidden_size, check_bin_size, check_fits, \
    check_model_path
from factormap.engine.checkpoints import CHECKPOINT_SUFFIXES, arrays_from_state_dict, checkpoint_kind, \
    read_checkpoint
from factormap.engine.errors import ModelError
from factormap.engine.model.weights import Model
from factormap.engine.output import atomic_write_bytes

#: Everything that can go wrong while numpy unpacks a hostile or damaged `.npz` archive.
_NPZ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, KeyError,
               NotImplementedError, RuntimeError, MemoryError)


def _load_bin(path: Path) -> Model:
    size = path.stat().st_size
    hidden = check_bin_size(path, size)
    n = size // 4
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
    check_fits(path, total, "model unpacks to")


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
        check_fits(path, _npz_unpacked_bytes(path), "model unpacks to")
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
    check_fits(path, path.stat().st_size)
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
        check_model_path(path)
        suffix = path.suffix.lower()
        if suffix in CHECKPOINT_SUFFIXES or (suffix not in (".bin", ".npz")
                                             and checkpoint_kind(path) in ("torch", "safetensors")):
            return _load_checkpoint(path, dtype)
        if suffix == ".npz" or zipfile.is_zipfile(path):
            return _load_npz(path, dtype)
        if suffix != ".bin" and bin_hidden_size(path.stat().st_size) is None:  # a text, say: no .bin size talk
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
