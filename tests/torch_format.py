"""Writes files in torch.save's zip format without torch, for the checkpoint tests.

The pickle is made by the standard pickler against stand-in ``torch`` and ``torch._utils``
modules, so it names the same globals a real ``torch.save`` does (``torch._utils
_rebuild_tensor_v2``, ``torch FloatStorage``, ``collections OrderedDict``) in protocol 2.
"""

from __future__ import annotations

import collections
import io
import itertools
import pickle
import sys
import types
import zipfile
from contextlib import contextmanager

import numpy as np

_STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
                  np.dtype(np.int64): "LongStorage"}


class _Tensor:
    """Pickles as torch's tensors do: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, array: np.ndarray, key: str):
        self.array, self.key = np.ascontiguousarray(array), key

    def __reduce__(self):
        torch_utils = sys.modules["torch._utils"]
        stride = tuple(s // self.array.itemsize for s in self.array.strides)
        return (torch_utils._rebuild_tensor_v2,
                (_StorageRef(self), 0, self.array.shape, stride, False, collections.OrderedDict()))


class _StorageRef:
    def __init__(self, tensor: _Tensor):
        self.tensor = tensor


@contextmanager
def _stand_in_torch():
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    for name in _STORAGE_NAMES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch", "__qualname__": name}))

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def torch_pickle(obj, tensors: dict[str, np.ndarray] | None = None, protocol: int = 2) -> bytes:
    """The pickle of ``obj`` as torch.save writes it; arrays in ``obj`` become tensors whose
    storages go into ``tensors`` (key -> raw array)."""
    tensors = {} if tensors is None else tensors
    with _stand_in_torch() as torch:
        class _Pickler(pickle.Pickler):
            def persistent_id(self, value):
                if isinstance(value, _StorageRef):
                    key = value.tensor.key
                    tensors[key] = value.tensor.array
                    kind = getattr(torch, _STORAGE_NAMES[value.tensor.array.dtype])
                    return ("storage", kind, key, "cpu", value.tensor.array.size)
                return None

        def wrap(value):
            if isinstance(value, dict):
                return collections.OrderedDict((k, wrap(v)) for k, v in value.items())
            if isinstance(value, list):
                return [wrap(v) for v in value]
            if isinstance(value, np.ndarray):
                return _Tensor(value, str(next(keys)))
            return value

        keys = itertools.count()
        buf = io.BytesIO()
        _Pickler(buf, protocol=protocol).dump(wrap(obj))
    return buf.getvalue()


def write_torch_zip(path, obj=None, *, pickle_bytes: bytes | None = None,
                    tensors: dict[str, np.ndarray] | None = None, prefix: str = "archive") -> None:
    """Write ``obj`` (a nested dict of arrays) to ``path`` in torch's zip layout, or, given
    ``pickle_bytes``, that pickle as its ``data.pkl`` (with the raw ``tensors`` beside it)."""
    tensors = {} if tensors is None else dict(tensors)
    data = torch_pickle(obj, tensors) if pickle_bytes is None else pickle_bytes
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", data)
        archive.writestr(f"{prefix}/byteorder", "little")
        for key, array in tensors.items():
            archive.writestr(f"{prefix}/data/{key}", np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())
        archive.writestr(f"{prefix}/version", "3\n")
