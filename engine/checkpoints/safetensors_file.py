"""Tensors of a ``.safetensors`` file, through the ``safetensors`` package's numpy API.

The format is an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range, then the raw bytes; nothing in it is code.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from factormap.engine.config import MAX_MODEL_BYTES
from factormap.engine.errors import ModelError

#: A header longer than this is not a model's (a char RNN names a handful of tensors).
MAX_HEADER_BYTES = 1 << 24


def is_safetensors(path: Path) -> bool:
    """True if ``path`` starts like a safetensors file: a plausible header length, then ``{``."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 2 <= length <= min(MAX_HEADER_BYTES, path.stat().st_size - 8)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of the file at ``path``, by name.

    Raises
    ------
    ModelError
        not a readable safetensors file, or larger than any model this tool loads.
    """
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: model file is {size:,} bytes, larger than any model this tool will load "
                         f"({MAX_MODEL_BYTES:,} bytes)")
    if not is_safetensors(path):
        raise ModelError(f"{path}: not a .safetensors file (no JSON header after the 8-byte length)")
    from safetensors.numpy import load

    try:
        return load(path.read_bytes())
    except Exception as exc:  # the Rust reader raises its own SafetensorError, and TypeError for bfloat16
        if "bf16" in str(exc).lower():
            raise ModelError(f"{path}: bfloat16 tensors, which numpy has no type for; save them as float32 "
                             f"(tensor.float())") from None
        raise ModelError(f"{path}: not a readable .safetensors file ({exc.__class__.__name__})") from None
