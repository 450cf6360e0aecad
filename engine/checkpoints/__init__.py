"""Models as people bring them: PyTorch ``torch.save`` state_dicts and ``.safetensors`` files.

Both become the five arrays ``Wx, Wh, bh, Wy, by`` (:func:`read_checkpoint`), which
:mod:`factormap.engine.model` turns into a model; torch itself is never imported and no pickled
code is ever run (:mod:`~factormap.engine.checkpoints.torch_zip`). The names a char-RNN state_dict
may use are in :mod:`~factormap.engine.checkpoints.rnn_names`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from factormap.engine.checkpoints.rnn_names import arrays_from_state_dict, to_numpy
from factormap.engine.checkpoints.safetensors_file import is_safetensors, read_safetensors
from factormap.engine.checkpoints.torch_zip import is_torch_zip, read_torch_zip
from factormap.engine.errors import ModelError

#: File name suffixes read as checkpoints (the contents decide too: see :func:`checkpoint_kind`).
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors")

#: The first bytes of a pickle of protocol 2 or more: torch's legacy (pre-1.6) format starts so.
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def checkpoint_kind(path: Path) -> str | None:
    """``"torch"``, ``"safetensors"``, ``"legacy-torch"`` for a bare pickle, or None for anything else."""
    if is_safetensors(path):
        return "safetensors"
    if zipfile.is_zipfile(path):
        return "torch" if is_torch_zip(path) else None
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
    except OSError:
        return None
    return "legacy-torch" if head in _PICKLE_MAGIC else None


def read_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays ``Wx, Wh, bh, Wy, by`` of the char RNN saved at ``path`` (torch zip or safetensors).

    Raises
    ------
    ModelError
        one sentence: not a checkpoint, a pickled module or other code, or parameters
        that are not one supported RNN (see :func:`arrays_from_state_dict`).
    """
    path = Path(path)
    kind = checkpoint_kind(path)
    if kind == "safetensors" or path.suffix.lower() == ".safetensors":
        return arrays_from_state_dict(read_safetensors(path), str(path))
    if kind == "legacy-torch":
        raise ModelError(f"{path}: torch's legacy (pre-1.6) format, a bare pickle; re-save it with a current "
                         f"torch.save(model.state_dict(), path)")
    if kind != "torch":
        raise ModelError(f"{path}: neither a torch.save file nor a .safetensors file")
    state = read_torch_zip(path)
    if not isinstance(state, Mapping):
        raise ModelError(f"{path}: holds a {type(state).__name__}, not a state_dict: save model.state_dict()")
    return arrays_from_state_dict(state, str(path))


__all__ = ["CHECKPOINT_SUFFIXES", "arrays_from_state_dict", "checkpoint_kind", "read_checkpoint", "to_numpy"]
