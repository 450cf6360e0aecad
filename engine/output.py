"""Writing output files: whole or not at all, only ever as a regular file, failures in one sentence.

Every file the tool writes (models, exports, dashboards) goes through :func:`atomic_write_bytes`:
the bytes go to a temporary file in the target's folder that is then renamed over the target, so
the target is always either what it was before or the complete new file, and no temporary file is
left behind. An existing target that is not a regular file (a device such as ``/dev/null``, a pipe,
a socket) is refused, never replaced. :func:`reserve_output` claims a new name at once
(``O_CREAT | O_EXCL``) for a file that is written later.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from factormap.engine.errors import OutputError


def _cause(exc: OSError) -> str:
    return exc.strerror or str(exc) or exc.__class__.__name__


def _folder_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_output(path: str | os.PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path` if a regular file can be written there, else an error.

    Raises
    ------
    OutputError
        ``path`` exists and is a directory, or is not a regular file (a device, pipe or socket:
        replacing it would remove it); its folder does not exist, is on a read-only file system,
        or may not be written to.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot look at the output file ({_cause(exc)})") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a directory; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{path}: exists and is not a regular file (a device, pipe or socket); "
                          f"refusing to replace it")
    folder = _folder_of(path)
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder {folder} does not exist")
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        raise OutputError(f"{path}: the folder {folder} is on a read-only file system")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the folder {folder} may not be written to (permission denied)")
    return path


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` has, or those a plain ``open(path, "w")`` would give it."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename: never a half-written file.

    The file keeps the permission bits it had (a new one gets the usual ``0o666 & ~umask``, not
    the temporary file's private 0o600).

    Raises
    ------
    OutputError
        The target is refused by :func:`check_output`, or the write failed (a full disk, a
        read-only file system...): one sentence naming the path and the cause. The old file, if
        any, is unchanged and the temporary file is removed.
    """
    path = check_output(path)
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=_folder_of(path))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the file ({_cause(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        check_output(path)  # it may have been replaced by something else meanwhile
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the file ({_cause(exc)}); "
                          f"it is unchanged") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def reserve_output(path: str | os.PathLike) -> bool:
    """Create ``path`` as a new empty file, atomically; False if the name exists already.

    Two reservations of one name never both succeed (``O_CREAT | O_EXCL``), so a file name picked
    now and written later by :func:`atomic_write_bytes` is never taken by another writer meanwhile.

    Raises
    ------
    OutputError
        The folder refuses the file (see :func:`check_output`).
    """
    path = check_output(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the file ({_cause(exc)})") from None
    os.close(fd)
    return True


def release_output(path: str | os.PathLike) -> None:
    """Remove a name :func:`reserve_output` claimed if nothing was written to it (it is still empty)."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass
