"""The raw `.bin` model format's layout, and the checks of a model file that need no numpy.

The `.bin` format is raw little-endian float32 with no header, in this order::

    Wx[H][256], Wh[H][H], bh[H], Wy[256][H], by[256]

so a file holds ``H**2 + 513*H + 256`` floats and H is solved from its size (329,216 bytes is
H = 128).

The explorer's command line refuses a bad `.bin` model in one line before its first frame, which
must not wait for numpy (a tenth of a second to import): :func:`check_bin_model` reads the file
with the standard library alone. The engine's loader (:func:`factormap.engine.model.load_model`)
makes the same checks, with the same messages, before it reads the weights with numpy.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
from pathlib import Path

from factormap.engine.config import MAX_MODEL_BYTES, VOCAB
from factormap.engine.errors import ModelError
from factormap.engine.memory import available_memory

ARRAY_NAMES = ("Wx", "Wh", "bh", "Wy", "by")
"""The model's arrays, in the order of the `.bin` layout."""

#: Loading and running a model holds about this many copies of its weights at once: the bytes
#: read from the file, the model's own arrays, and the transposed copies the kernels stream.
MODEL_MEMORY_FACTOR = 3

_NEGATIVE_INFINITY = 0xFF800000
"""The bits of float32 ``-inf``: allowed in ``by``, where it marks a byte the model never predicts."""
_TOP_EXPONENT_BITS = bytes(1 if b & 0x7F == 0x7F else 0 for b in range(256))
"""1 for a float32's fourth byte (little-endian) whose 7 exponent bits are all set, else 0."""
_LAST_EXPONENT_BIT = bytes(1 if b & 0x80 else 0 for b in range(256))
"""1 for a float32's third byte whose exponent bit is set, else 0."""


def float_count(hidden: int) -> int:
    """Number of float32 values in a `.bin` model of hidden size ``hidden``."""
    return hidden * hidden + (2 * VOCAB + 1) * hidden + VOCAB


def hidden_size_for(n_floats: int) -> float:
    """The real root H of ``H**2 + 513*H + 256 = n_floats`` (an integer for a valid file)."""
    b = 2 * VOCAB + 1
    return (-b + math.sqrt(b * b - 4 * (VOCAB - n_floats))) / 2


def array_shapes(hidden: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of each array of a model of hidden size ``hidden``, in the `.bin` order."""
    return {
        "Wx": (hidden, VOCAB),
        "Wh": (hidden, hidden),
        "bh": (hidden,),
        "Wy": (VOCAB, hidden),
        "by": (VOCAB,),
    }


def bin_hidden_size(size: int) -> int | None:
    """The hidden size H whose raw float32 `.bin` model has ``size`` bytes, or None if no H has."""
    hidden = round(hidden_size_for(size // 4)) if size > 0 and size % 4 == 0 else 0
    return hidden if hidden >= 1 and 4 * float_count(hidden) == size else None


def reads_as_raw_bin(path: Path) -> bool:
    """True when the loader reads ``path`` as a raw `.bin`: a `.bin` suffix and no zip archive
    (a zip named `.bin`, such as a PyTorch checkpoint, is read as an archive)."""
    return path.suffix.lower() == ".bin" and not zipfile.is_zipfile(path)


def check_model_path(path: Path) -> None:
    """Refuse a model path that is missing, a directory, not a regular file or not readable."""
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a model file")
    if not path.is_file():
        raise ModelError(f"{path}: is not a regular file (a device, pipe or socket), not a model file")
    if not os.access(path, os.R_OK):
        raise ModelError(f"{path}: model file is not readable (permission denied)")


def check_fits(path: Path, weight_bytes: int, what: str = "model file is") -> None:
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


def check_bin_size(path: Path, size: int) -> int:
    """The hidden size of a raw `.bin` model of ``size`` bytes; refused if empty, too large for the
    cap or the memory, or a size no H has (the message gives the nearest valid size)."""
    if size == 0:
        raise ModelError(f"{path}: model file is empty (expected {4 * float_count(128):,} bytes for H=128)")
    check_fits(path, size)
    if size % 4:
        raise ModelError(f"{path}: size {size:,} bytes is not a whole number of float32 values; "
                         f"nearest valid: {_nearest_valid(size // 4)}")
    hidden = bin_hidden_size(size)
    if hidden is None:
        n = size // 4
        raise ModelError(f"{path}: size {size:,} bytes matches no hidden size; nearest valid: "
                         f"{_nearest_valid(n)}{_two_biases_hint(n)}")
    return hidden


def nonfinite_error(source: str, count: int, name: str) -> ModelError:
    """The error of a model whose array ``name`` holds ``count`` NaN or Inf values."""
    return ModelError(f"{source}: {count} NaN or Inf value(s) in {name}; the weights are unusable")


def nonfinite_count(data: bytes) -> int:
    """How many of the little-endian float32 values in ``data`` are NaN or ±Inf: those whose 8
    exponent bits are all set (7 in the fourth byte, 1 in the third)."""
    top = int.from_bytes(data[3::4].translate(_TOP_EXPONENT_BITS), "little")
    last = int.from_bytes(data[2::4].translate(_LAST_EXPONENT_BIT), "little")
    return (top & last).bit_count()


def check_bin_values(source: str, data: bytes, hidden: int) -> None:
    """Refuse a `.bin` model's bytes holding NaN or Inf, as the model's arrays would: any in
    ``Wx``, ``Wh``, ``bh``, ``Wy``, and any but ``-inf`` in ``by``."""
    start = 0
    for name, shape in array_shapes(hidden).items():
        stop = start + 4 * math.prod(shape)
        values = data[start:stop]
        bad = nonfinite_count(values)
        if name == "by":
            bad -= sum(1 for (bits,) in struct.iter_unpack("<I", values) if bits == _NEGATIVE_INFINITY)
        if bad:
            raise nonfinite_error(source, bad, name)
        start = stop


def check_bin_model(path: str | os.PathLike) -> int:
    """The hidden size of the raw `.bin` model at ``path``, after every check the loader makes
    (path, size, memory, NaN or Inf weights), with its messages; reads the file, writes nothing.

    Raises
    ------
    ModelError
        as :func:`factormap.engine.model.load_model` would for this file.
    """
    path = Path(path)
    try:
        check_model_path(path)
        hidden = check_bin_size(path, path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None
    except MemoryError:
        raise ModelError(f"{path}: not enough memory to read the model file ({path.stat().st_size:,} bytes)") from None
    if len(data) != 4 * float_count(hidden):
        raise ModelError(f"{path}: the file changed size while it was read; try again")
    check_bin_values(str(path), data, hidden)
    return hidden
