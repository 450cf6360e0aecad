"""The hostile table's outputs and disks: ``-o`` onto an input, a device, a FIFO, a folder, a
read-only or full disk (issue 16). Cases on a full or read-only disk use a 64 KiB tmpfs, mounted
where the test may (root), skipped cleanly where it may not. The machinery is tests/hostile_runs.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.hostile_runs import CaseTable, Run, model_and_text, write_model, write_text

CASES = CaseTable()


# -- outputs ----------------------------------------------------------------------------------

@CASES.case("output_onto_the_text")
def _(d):
    model, text = model_and_text(d)
    return Run(["export", model, text, "-o", text], fragments=("input file",))


@CASES.case("output_symlink_onto_the_model")
def _(d):
    model, text = model_and_text(d)
    (d / "out.npz").symlink_to(model)
    return Run(["export", model, text, "-o", str(d / "out.npz")], fragments=("input file",))


@CASES.case("export_onto_an_existing_file")
def _(d):
    (d / "old.npz").write_bytes(b"old contents")
    return Run(["export", *model_and_text(d), "-o", str(d / "old.npz")], fragments=("old.npz exists", "--force"))


@CASES.case("convert_onto_an_existing_file")
def _(d):
    model = write_model(d)
    (d / "old.bin").write_bytes(b"old contents")
    return Run(["convert", str(model), "-o", str(d / "old.bin")], fragments=("old.bin exists", "--force"))


@CASES.case("train_onto_an_existing_file")
def _(d):
    (d / "old.bin").write_bytes(b"old contents")
    return Run(["train", str(write_text(d)), "-o", str(d / "old.bin"), "--epochs", "1"],
               fragments=("old.bin exists", "--force"))


@CASES.case("train_npz_companion_onto_an_existing_file")
def _(d):
    (d / "new.npz").write_bytes(b"old contents")
    return Run(["train", str(write_text(d)), "-o", str(d / "new.bin"), "--npz", "--epochs", "1"],
               fragments=("new.npz exists", "--force"))


@CASES.case("output_onto_a_character_device")
def _(d):
    os.mknod(d / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    return Run(["export", *model_and_text(d), "-o", str(d / "null")], fragments=("not a regular file",))


@CASES.case("output_onto_dev_null")
def _(d):
    return Run(["train", str(write_text(d)), "-o", "/dev/null", "--epochs", "1"], fragments=("not a regular file",))


@CASES.case("output_onto_a_fifo")
def _(d):
    os.mkfifo(d / "out.npz")
    return Run(["export", *model_and_text(d), "-o", str(d / "out.npz")], fragments=("not a regular file",), timeout=30)


@CASES.case("output_is_a_directory")
def _(d):
    (d / "out").mkdir()
    return Run(["export", *model_and_text(d), "-o", str(d / "out")], fragments=("is a directory",))


@CASES.case("output_folder_missing")
def _(d):
    return Run(["train", str(write_text(d)), "-o", str(d / "no" / "m.bin")], fragments=("does not exist",))


@CASES.case("output_on_a_read_only_disk")
def _(d):
    disk = _tmpfs(d, read_only=True)
    return Run(["export", *model_and_text(d), "-o", str(disk / "old.npz")], fragments=("read-only file system",))


@CASES.case("train_onto_a_read_only_disk")
def _(d):
    disk = _tmpfs(d, read_only=True)
    return Run(["train", str(write_text(d)), "-o", str(disk / "old.npz"), "--epochs", "1"],
               fragments=("old.npz", "read-only file system"))


@CASES.case("export_onto_a_full_disk")
def _(d):
    disk = _tmpfs(d)
    return Run(["export", *model_and_text(d), "-o", str(disk / "old.npz"), "--force"], status=1,
               fragments=("old.npz", "No space left on device", "unchanged"))


@CASES.case("train_onto_a_full_disk")
def _(d):
    disk = _tmpfs(d)
    return Run(["train", str(write_text(d)), "-o", str(disk / "old.npz"), "--hidden", "64", "--epochs", "1", "--json",
                "--force"],
               status=1, fragments=("old.npz", "No space left on device"), timeout=120)


# -- the tmpfs ----------------------------------------------------------------------------------

MOUNTS: list[Path] = []


def _tmpfs(folder: Path, read_only: bool = False) -> Path:
    """A 64 KiB tmpfs at ``folder/disk`` holding ``old.npz`` (old contents), remounted read-only if
    asked; the case is skipped where it cannot be mounted."""
    disk = folder / "disk"
    disk.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True,
                       capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount in this container)")
    MOUNTS.append(disk)
    (disk / "old.npz").write_bytes(b"old contents")
    if read_only:
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True, timeout=30)
    return disk


@pytest.fixture
def folder(tmp_path):
    """The case's folder; any tmpfs mounted in it is unmounted afterwards."""
    yield tmp_path
    while MOUNTS:
        subprocess.run(["umount", str(MOUNTS.pop())], check=False, capture_output=True, timeout=30)


@pytest.mark.parametrize("name", CASES.builds)
def test_hostile_case(folder, name):
    CASES.check(folder, name)
