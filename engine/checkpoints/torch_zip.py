"""Tensors of a ``torch.save`` file (the zip format of torch >= 1.6), read without torch.

The archive holds ``PREFIX/data.pkl``, a pickle of the saved object whose tensors point at raw
storages ``PREFIX/data/KEY`` (little-endian unless ``PREFIX/byteorder`` says ``big``). The pickle
is read by an unpickler that resolves only the globals a state_dict needs (:data:`ALLOWED_GLOBALS`
and the ``torch.*Storage`` classes); before that, every global the pickle names is listed from its
opcodes without running anything, so a pickled ``nn.Module`` or a pickle that would call
``os.system`` or ``open`` is refused in one sentence and none of its code ever runs.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import pickletools
import zipfile
from pathlib import Path

import numpy as np

from factormap.engine.config import MAX_MODEL_BYTES
from factormap.engine.errors import ModelError

#: Storage class name -> numpy dtype of its elements (bfloat16 is widened to float32 on read).
STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}

#: (module, name) of every global a state_dict's pickle may name besides the storages.
ALLOWED_GLOBALS = frozenset({
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
})


def is_torch_zip(path: Path) -> bool:
    """True if ``path`` is a zip archive with a ``data.pkl`` one folder down (torch's layout)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _pickle_member(archive) is not None
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _pickle_member(archive: zipfile.ZipFile) -> str | None:
    names = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    return names[0] if len(names) == 1 else None


def _allowed(module: str, name: str) -> bool:
    return (module, name) in ALLOWED_GLOBALS or (module == "torch" and name in STORAGE_DTYPES)


def named_globals(data: bytes) -> list[tuple[str, str]]:
    """Every ``(module, name)`` the pickle ``data`` would import, read from its opcodes (nothing runs).

    ``GLOBAL`` carries its name inline; ``STACK_GLOBAL`` (protocol 4+) takes the two strings pushed
    just before it, which is how every pickler writes it.
    """
    found, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            module, _, name = str(arg).partition(" ")
            found.append((module, name))
        elif op.name == "STACK_GLOBAL":
            found.append(tuple(strings[-2:]) if len(strings) >= 2 else ("?", "?"))
        elif isinstance(arg, str):
            strings.append(arg)
    return found


def refusal(source: str, refused: list[tuple[str, str]]) -> str:
    """The one sentence that refuses a pickle naming the globals ``refused``."""
    modules = [m for m, _ in refused]
    if any(m.startswith("torch.nn") or m == "__main__" for m in modules):
        return (f"{source}: a pickled nn.Module, not a state_dict: save model.state_dict() "
                f"(it names {refused[0][0]}.{refused[0][1]}; nothing in it was run)")
    return (f"{source}: refused to unpickle {refused[0][0]}.{refused[0][1]}, which a state_dict "
            f"never contains; nothing in the file was run")


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only allowed globals; tensors become numpy arrays read from the archive."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, big_endian: bool, source: str):
        super().__init__(io.BytesIO(data))
        self._archive, self._prefix, self._big, self._source = archive, prefix, big_endian, source
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if not _allowed(module, name):
            raise ModelError(refusal(self._source, [(module, name)]))
        if module == "torch":
            return _StorageType(name)
        if module == "collections":
            return collections.OrderedDict
        return _rebuild_tensor if "tensor" in name else _rebuild_parameter

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise ModelError(f"{self._source}: the pickle refers to a storage of an unknown kind")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if key not in self._storages:
            self._storages[key] = self._read_storage(kind, key, numel)
        return self._storages[key]

    def _read_storage(self, kind: "_StorageType", key: str, numel) -> np.ndarray:
        member = f"{self._prefix}/data/{key}"
        dtype = np.dtype(STORAGE_DTYPES[kind.name]).newbyteorder(">" if self._big else "<")
        try:
            info = self._archive.getinfo(member)
        except KeyError:
            raise ModelError(f"{self._source}: storage {key} is missing from the archive") from None
        if not isinstance(numel, int) or info.file_size != numel * dtype.itemsize:
            raise ModelError(f"{self._source}: storage {key} holds {info.file_size:,} bytes, "
                             f"not {numel!r} {kind.name} elements")
        flat = np.frombuffer(self._archive.read(member), dtype=dtype).astype(dtype.newbyteorder("="))
        if kind.name == "BFloat16Storage":
            flat = (flat.astype(np.uint32) << 16).view(np.float32)
        return flat


class _StorageType:
    """Stands for ``torch.<name>`` in the pickle (a class the pickle only passes around)."""

    def __init__(self, name: str):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *_ignored) -> np.ndarray:
    """The tensor ``storage[offset + sum(i_d * stride_d)]`` of shape ``size``, as a new array."""
    if not (isinstance(storage, np.ndarray) and isinstance(offset, int)
            and all(isinstance(v, int) and v >= 0 for v in (*size, *stride)) and len(size) == len(stride)):
        raise ModelError("a tensor in the pickle has a malformed shape or stride")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if offset < 0 or last >= storage.size:
        raise ModelError(f"a tensor of shape {tuple(size)} reaches past the end of its storage")
    if math.prod(size) > storage.size:  # only a stride of 0 can do this: refuse to inflate it
        raise ModelError(f"a tensor of shape {tuple(size)} has more elements than its storage ({storage.size:,})")
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * storage.itemsize for s in stride))
    return np.array(view)


def _rebuild_parameter(data, *_ignored):
    """An ``nn.Parameter`` is its tensor here."""
    return data


def read_torch_zip(path: Path):
    """The object ``torch.save`` wrote to ``path``, with every tensor as a numpy array.

    Raises
    ------
    ModelError
        not torch's zip layout, a global a state_dict never has (an ``nn.Module``,
        any callable), a storage that does not match its tensors, or too many bytes.
    """
    source = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member = _pickle_member(archive)
            if member is None:
                raise ModelError(f"{source}: a zip archive without torch's data.pkl; not a torch.save file")
            total = sum(info.file_size for info in archive.infolist())
            if total > MAX_MODEL_BYTES:
                raise ModelError(f"{source}: unpacks to {total:,} bytes, larger than any model this tool "
                                 f"will load ({MAX_MODEL_BYTES:,} bytes)")
            prefix = member.rsplit("/", 1)[0]
            order = f"{prefix}/byteorder"
            big = order in archive.namelist() and archive.read(order).strip() == b"big"
            data = archive.read(member)
            refused = [g for g in named_globals(data) if not _allowed(*g)]
            if refused:
                raise ModelError(refusal(source, refused))
            return _StateDictUnpickler(data, archive, prefix, big, source).load()
    except ModelError as exc:
        if str(exc).startswith(source):
            raise
        raise ModelError(f"{source}: {exc}") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, TypeError,
            IndexError, KeyError, AttributeError, OverflowError, MemoryError) as exc:
        raise ModelError(f"{source}: not a readable torch.save file ({exc.__class__.__name__})") from None
