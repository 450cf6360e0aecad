"""The hostile table's machinery: a case runs ``factormap-tui`` in a subprocess and is checked.

Every case runs the installed command as a person would, in a folder of its own, and
:func:`run_checked` asserts the exit status, a message of at most three lines that names the problem
(no traceback, no RuntimeWarning), a time bound where the input could make it hang (the subprocess
timeout), that every node in the folder is as it was (regular files byte for byte), and that no
temporary file is left. The cases are in tests/test_hostile_models.py, test_hostile_texts.py and
test_hostile_outputs.py, by what they attack.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factormap.engine.model import Model, save_model
from tests.conftest import SAMPLE_TEXT
from tests.naive import random_model_arrays

READ_BYTES_UP_TO = 64 << 20
"""Files up to this size are compared by their bytes; larger ones (the sparse multi-GB models) by
size, inode, mtime and ctime: a write to the file changes its ctime, which no one can set back."""


@dataclass
class Run:
    """One command line and what it must do.

    Attributes:
        argv: the arguments after ``factormap-tui``.
        status: the exit status wanted.
        fragments: text the message on stderr must contain.
        timeout: seconds within which the command must end (the bound on a possible hang).
        check: a last look at the folder after the run (e.g. a payload did not run).
    """

    argv: list[str]
    status: int = 2
    fragments: tuple[str, ...] = ()
    timeout: float = 60
    check: Callable[[Path], None] | None = None


class CaseTable:
    """The cases of one test module, by name: ``build(folder) -> Run``."""

    def __init__(self) -> None:
        self.builds: dict[str, Callable[[Path], Run]] = {}

    def case(self, name: str):
        """Register ``build(folder) -> Run`` as the case ``name``."""
        def register(build):
            self.builds[name] = build
            return build
        return register

    def check(self, folder: Path, name: str) -> None:
        """Build the case ``name`` in ``folder``, run it and check it, its own check last."""
        run = self.builds[name](folder)
        proc = run_checked(folder, run)
        if run.check is not None:
            if proc.stdout:
                (folder / "info.json").write_text(proc.stdout)
            run.check(folder)


# -- inputs the cases share -------------------------------------------------------------------

def write_model(folder: Path, name: str = "model.bin", **arrays) -> Path:
    """A valid H=8 `.bin` model at ``folder/name``, with some arrays replaced."""
    values = random_model_arrays(8, 0, 1.0) | arrays
    save_model(Model(**values), folder / name)
    return folder / name


def write_text(folder: Path, data: bytes = SAMPLE_TEXT, name: str = "text.txt") -> Path:
    """A text file of ``data`` at ``folder/name``."""
    (folder / name).write_bytes(data)
    return folder / name


def model_and_text(folder: Path) -> list[str]:
    """The arguments MODEL TEXT of a valid model and text written in ``folder``."""
    return [str(write_model(folder)), str(write_text(folder))]


def write_npz(folder: Path, name: str = "model.npz", **arrays) -> Path:
    """A valid H=8 `.npz` model at ``folder/name``, with some arrays replaced."""
    values = {n: a.astype(np.float32) for n, a in random_model_arrays(8, 0, 1.0).items()} | arrays
    np.savez(folder / name, **values)
    return folder / name


# -- running a case ---------------------------------------------------------------------------

def _contents(path: Path, st: os.stat_result) -> object:
    if st.st_size <= READ_BYTES_UP_TO:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return (st.st_size, st.st_ino, st.st_ctime_ns)


def folder_state(root: Path) -> dict[str, tuple]:
    """Every node under ``root``: its type, and for regular files their contents and modification
    time, for symlinks their target, for devices their number."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        regular = stat.S_ISREG(st.st_mode)
        content = _contents(path, st) if regular else os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
        out[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), content, st.st_mtime_ns if regular else None,
                                            st.st_rdev if stat.S_ISCHR(st.st_mode) else None)
    return out


def run_checked(folder: Path, run: Run) -> subprocess.CompletedProcess:
    """Run ``factormap-tui *run.argv`` in ``folder`` and assert everything :class:`Run` asks, and that
    the folder's old nodes are unchanged and no temporary file is left."""
    before = folder_state(folder)
    proc = subprocess.run([sys.executable, "-m", "factormap.tui.cli", *run.argv], cwd=folder, capture_output=True,
                          text=True, errors="replace", timeout=run.timeout, stdin=subprocess.DEVNULL)
    err = proc.stderr
    assert proc.returncode == run.status, err
    assert "Traceback" not in err and "Warning" not in err, err
    assert err.count("\n") <= 3, err
    if run.status:
        assert err.startswith("factormap-tui: error:"), err
        assert "\x1b" not in err and "\x07" not in err, repr(err)
    for fragment in run.fragments:
        assert fragment in err, err
    after = folder_state(folder)
    written = {name for name in after if name not in before}
    assert not any(name.endswith(".tmp") for name in written), written  # no temporary file is left
    assert {name: after.get(name) for name in before} == before, "an input or an old file changed"
    return proc
