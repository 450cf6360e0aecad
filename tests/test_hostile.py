"""The hostile table: what a tester tried against the installed command, kept true (issue 16).

Every case runs ``factormap-tui`` in a subprocess, as a person would, in a folder of its own, and
asserts the exit status, a message of at most three lines that names the problem (no traceback,
no RuntimeWarning), a time bound where the input could make it hang (the subprocess timeout), that
every input is byte for byte and node for node as it was, and that no temporary file is left.
Cases on a full or read-only disk use a 64 KiB tmpfs, mounted where the test may (root), skipped
cleanly where it may not. tests/test_cli_bad_inputs.py checks the same refusals in-process, word
for word, on every entry point taking MODEL TEXT; this table is the end-to-end one.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.model import ARRAY_NAMES, Model, array_shapes, float_count, save_model
from tests.conftest import SAMPLE_TEXT
from tests.naive import random_model_arrays


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


CASES: dict[str, Callable[[Path], Run]] = {}


def case(name: str):
    """Register ``build(folder) -> Run`` as the hostile case ``name``."""
    def register(build):
        CASES[name] = build
        return build
    return register


# -- inputs the cases share -------------------------------------------------------------------

def _model(folder: Path, name: str = "model.bin", **arrays) -> Path:
    values = random_model_arrays(8, 0, 1.0) | arrays
    save_model(Model(**values), folder / name)
    return folder / name


def _text(folder: Path, data: bytes = SAMPLE_TEXT, name: str = "text.txt") -> Path:
    (folder / name).write_bytes(data)
    return folder / name


def _npz(folder: Path, name: str = "model.npz", **arrays) -> Path:
    values = {n: a.astype(np.float32) for n, a in random_model_arrays(8, 0, 1.0).items()} | arrays
    np.savez(folder / name, **values)
    return folder / name


def _both(folder: Path) -> list[str]:
    return [str(_model(folder)), str(_text(folder))]


class _Payload:
    """Unpickling this creates the file ``marker``: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _payload_never_ran(folder: Path) -> None:
    assert not (folder / "PWNED").exists(), "a pickle payload ran"


# -- the model ----------------------------------------------------------------------------------

@case("model_missing")
def _(d):
    return Run(["info", str(d / "nope.bin"), str(_text(d))], fragments=("no such model file",))


@case("model_is_a_directory")
def _(d):
    (d / "models").mkdir()
    return Run(["info", str(d / "models"), str(_text(d))], fragments=("is a directory",))


@case("model_is_a_fifo")
def _(d):
    os.mkfifo(d / "model.bin")  # reading it would wait for ever for a writer
    return Run(["info", str(d / "model.bin"), str(_text(d))], fragments=("not a regular file",), timeout=30)


@case("model_is_dev_zero")
def _(d):
    return Run(["info", "/dev/zero", str(_text(d))], fragments=("not a regular file",), timeout=30)


@case("model_symlink_to_dev_zero")
def _(d):
    (d / "model.bin").symlink_to("/dev/zero")
    return Run(["info", str(d / "model.bin"), str(_text(d))], fragments=("not a regular file",), timeout=30)


@case("model_dangling_symlink")
def _(d):
    (d / "model.bin").symlink_to(d / "gone.bin")
    return Run(["info", str(d / "model.bin"), str(_text(d))], fragments=("no such model file",))


@case("model_empty")
def _(d):
    (d / "model.bin").write_bytes(b"")
    return Run(["info", str(d / "model.bin"), str(_text(d))], fragments=("empty",))


@case("model_truncated")
def _(d):
    data = _model(d).read_bytes()
    (d / "model.bin").write_bytes(data[:-3])
    return Run(["info", str(d / "model.bin"), str(_text(d))], fragments=("not a whole number", "H=8"))


@case("model_sparse_beyond_the_cap")
def _(d):
    with open(d / "huge.bin", "wb") as fh:
        fh.truncate(4 * float_count(24_000))  # no disk used; a correct loader never reads it
    return Run(["info", str(d / "huge.bin"), str(_text(d))], fragments=("larger than any model",), timeout=30)


@case("model_nan_weights")
def _(d):
    flat = np.frombuffer(_model(d).read_bytes(), "<f4").copy()
    flat[8 * 256 + 3] = np.nan  # inside Wh
    flat.tofile(d / "model.bin")
    return Run(["info", str(d / "model.bin"), str(_text(d))], fragments=("NaN or Inf", "Wh"))


@case("npz_not_a_zip")
def _(d):
    (d / "model.npz").write_bytes(b"PK not really a zip" * 10)
    return Run(["info", str(d / "model.npz"), str(_text(d))], fragments=("not a .npz archive",))


@case("npz_truncated")
def _(d):
    data = _npz(d).read_bytes()
    (d / "model.npz").write_bytes(data[: len(data) // 2])
    return Run(["info", str(d / "model.npz"), str(_text(d))], fragments=("model.npz",))


@case("npz_int_dtype")
def _(d):
    return Run(["info", str(_npz(d, Wx=np.zeros((8, 256), np.int32))), str(_text(d))], fragments=("expected floats",))


@case("npz_complex_dtype")
def _(d):
    return Run(["info", str(_npz(d, bh=np.zeros(8, np.complex64))), str(_text(d))], fragments=("expected floats",))


@case("npz_three_dimensional_Wh")
def _(d):
    return Run(["info", str(_npz(d, Wh=np.zeros((8, 8, 1), np.float32))), str(_text(d))], fragments=("Wh", "shape"))


@case("npz_misshaped_Wx")
def _(d):
    return Run(["info", str(_npz(d, Wx=np.zeros((8, 200), np.float32))), str(_text(d))], fragments=("Wx", "(8, 256)"))


@case("npz_float64_beyond_float32")
def _(d):
    wx = random_model_arrays(8, 0, 1.0)["Wx"].astype(np.float64)
    wx[0, 0] = 1e39
    return Run(["info", str(_npz(d, Wx=wx)), str(_text(d))], fragments=("Wx", "beyond float32's range"))


@case("npz_pickled_object_array")
def _(d):
    arrays = {n: a for n, a in random_model_arrays(8, 0, 1.0).items()}
    arrays["Wx"] = np.array([_Payload(d / "PWNED")] * 2048, dtype=object).reshape(8, 256)
    np.savez(d / "model.npz", **arrays)
    return Run(["info", str(d / "model.npz"), str(_text(d))], fragments=("Wx", "object"), check=_payload_never_ran)


@case("pt_pickle_payload")
def _(d):
    (d / "model.pt").write_bytes(pickle.dumps({"weight_ih_l0": _Payload(d / "PWNED")}))
    return Run(["info", str(d / "model.pt"), str(_text(d))], fragments=("model.pt",), check=_payload_never_ran)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@case("npz_bomb")
def _(d):
    """A 70 KB archive whose Wx member unpacks to 64 MiB behind a header of shape (8, 256)."""
    with zipfile.ZipFile(d / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, shape in array_shapes(8).items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as fh:
                fh.write(_npy_bytes(np.zeros(shape, np.float32)))
                if name == "Wx":
                    for _ in range(64):
                        fh.write(bytes(1 << 20))
    return Run(["info", str(d / "bomb.npz"), str(_text(d))], fragments=("Wx.npy unpacks to", "damaged or hostile"),
               timeout=30)


@case("model_of_float32_max")
def _(d):
    top = np.finfo(np.float32).max
    path = _npz(d, **{n: np.full(s, top, np.float32) for n, s in array_shapes(8).items()})
    return Run(["report", str(path), str(_text(d)), "--json"], status=1, fragments=("do not vary",), timeout=300)


@case("readout_rows_all_1e30")
def _(d):
    """Every byte equally likely: the BPC is 8 (issue 16, item 5; it was 0.0000)."""
    path = _model(d, Wy=np.full((256, 8), 1e30, np.float32), by=np.zeros(256, np.float32))

    def bpc_is_eight(folder: Path) -> None:
        import json

        assert json.loads((folder / "info.json").read_text())["bpc"] == pytest.approx(8.0, abs=1e-4)

    return Run(["info", str(path), str(_text(d)), "--json"], status=0, check=bpc_is_eight)


# -- the text ---------------------------------------------------------------------------------

@case("text_missing")
def _(d):
    return Run(["info", str(_model(d)), str(d / "nope.txt")], fragments=("no such text file",))


@case("text_is_a_fifo")
def _(d):
    os.mkfifo(d / "text.txt")
    return Run(["info", str(_model(d)), str(d / "text.txt")], fragments=("not a regular file",), timeout=30)


@case("text_is_dev_zero")
def _(d):
    return Run(["report", str(_model(d)), "/dev/zero"], fragments=("not a regular file",), timeout=30)


@case("text_empty")
def _(d):
    return Run(["info", str(_model(d)), str(_text(d, b""))], fragments=("empty",))


@case("text_one_byte")
def _(d):
    return Run(["info", str(_model(d)), str(_text(d, b"x"))], fragments=("single byte",))


@case("arguments_swapped")
def _(d):
    model, text = _both(d)
    return Run(["info", text, model], fragments=("swapped", "MODEL TEXT"))


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"caf\xe9 \xff\xfe\xc3\x28 \xed\xa0\x80\n" * 20,
                                  b"a\tb\x00c\x07d\x1b[31mred\x1b[0m\x08\x0c\x7f\r\x0b\n" * 20, b"\r\n" * 300],
                         ids=["all_bytes", "invalid_utf8", "controls", "crlf_only"])
def test_odd_texts_simply_work(tmp_path, data):
    text = _text(tmp_path, data)
    proc = _run(tmp_path, Run(["info", str(_model(tmp_path)), str(text), "--json"], status=0))
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout


# -- file names -------------------------------------------------------------------------------

@case("markup_in_file_name")
def _(d):
    (d / "[red]x[bold].bin").write_bytes(b"not a model")  # rich would read these as styles
    return Run(["info", str(d / "[red]x[bold].bin"), str(_text(d))], fragments=("[red]x[bold].bin",))


@case("markup_in_folder_name")
def _(d):
    (d / "a[").mkdir()
    (d / "a[" / "b]").mkdir()  # the path holds "[/b]", a closing tag to rich
    return Run(["info", str(d / "a[" / "b]" / "m.bin"), str(_text(d))], fragments=("a[/b]/m.bin",))


@case("escape_and_newline_in_file_name")
def _(d):
    (d / "a\x1b[31m\nb.bin").write_bytes(b"not a model")
    return Run(["info", str(d / "a\x1b[31m\nb.bin"), str(_text(d))], fragments=("\\x1b[31m\\nb.bin",))


# -- arguments --------------------------------------------------------------------------------

@case("worst_negative")
def _(d):
    return Run(["info", *_both(d), "--worst", "-1"], fragments=("--worst", "whole number"))


@case("train_seed_negative")
def _(d):
    return Run(["train", str(_text(d)), "-o", str(d / "out.bin"), "--seed", "-1"], fragments=("--seed",))


@case("train_hidden_huge")
def _(d):
    return Run(["train", str(_text(d)), "-o", str(d / "out.bin"), "--hidden", "99999999999999999999"],
               fragments=("hidden must be at most",))


@case("train_lr_nan")
def _(d):
    return Run(["train", str(_text(d)), "-o", str(d / "out.bin"), "--lr", "nan"], fragments=("learning rate",))


@case("export_start_after_stop")
def _(d):
    return Run(["export", *_both(d), "--start", "10", "--stop", "5", "--json"], fragments=("--start 10",))


@case("export_K_of_a_thousand_digits")
def _(d):
    return Run(["export", *_both(d), "--K", "9" * 1000, "--json"], fragments=("--K", "0..4,096"))


@case("report_K_too_deep")
def _(d):
    return Run(["report", *_both(d), "--K", "5000"], fragments=("--K", "0..4,096"))


@case("unknown_option")
def _(d):
    return Run(["info", *_both(d), "--frobnicate"], fragments=("unrecognized arguments",))


# -- user features ------------------------------------------------------------------------------

@case("regex_that_backtracks_for_ever")
def _(d):
    """Python's re never returned on this; RE2 is linear (the timeout is the bound)."""
    return Run(["report", str(_model(d)), str(_text(d, b"a" * 30_000 + b"!")), "--only", "factor_map",
                "--feature", "a=(a+)+$", "--json"], status=0, timeout=120)


@case("regex_with_a_backreference")
def _(d):
    return Run(["report", *_both(d), "--feature", r"a=(a)\1"], fragments=("backreferences are not supported",))


@case("regex_with_lookahead")
def _(d):
    return Run(["report", *_both(d), "--feature", "a=x(?=y)"], fragments=("lookahead",))


@case("feature_file_dev_zero")
def _(d):
    return Run(["report", *_both(d), "--feature-file", "f=/dev/zero"], fragments=("not a regular file",), timeout=30)


@case("feature_file_fifo")
def _(d):
    os.mkfifo(d / "f.txt")
    return Run(["report", *_both(d), "--feature-file", f"f={d / 'f.txt'}"], fragments=("not a regular file",),
               timeout=30)


@case("feature_file_too_large")
def _(d):
    (d / "f.txt").write_bytes(b"1 " * (64 * len(SAMPLE_TEXT)))
    return Run(["report", *_both(d), "--feature-file", f"f={d / 'f.txt'}"], fragments=("more than 64",))


@case("feature_file_of_1e308")
def _(d):
    (d / "f.txt").write_text("1e308\n" * len(SAMPLE_TEXT))
    return Run(["report", *_both(d), "--only", "factor_map", "--feature-file", f"f={d / 'f.txt'}"],
               fragments=("beyond ±1e+100",))


# -- outputs ----------------------------------------------------------------------------------

@case("output_onto_the_text")
def _(d):
    model, text = _both(d)
    return Run(["export", model, text, "-o", text], fragments=("input file",))


@case("output_symlink_onto_the_model")
def _(d):
    model, text = _both(d)
    (d / "out.npz").symlink_to(model)
    return Run(["export", model, text, "-o", str(d / "out.npz")], fragments=("input file",))


@case("output_onto_a_character_device")
def _(d):
    os.mknod(d / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    return Run(["export", *_both(d), "-o", str(d / "null")], fragments=("not a regular file",))


@case("output_onto_dev_null")
def _(d):
    return Run(["train", str(_text(d)), "-o", "/dev/null", "--epochs", "1"], fragments=("not a regular file",))


@case("output_onto_a_fifo")
def _(d):
    os.mkfifo(d / "out.npz")
    return Run(["export", *_both(d), "-o", str(d / "out.npz")], fragments=("not a regular file",), timeout=30)


@case("output_is_a_directory")
def _(d):
    (d / "out").mkdir()
    return Run(["export", *_both(d), "-o", str(d / "out")], fragments=("is a directory",))


@case("output_folder_missing")
def _(d):
    return Run(["train", str(_text(d)), "-o", str(d / "no" / "m.bin")], fragments=("does not exist",))


@case("output_on_a_read_only_disk")
def _(d):
    disk = _tmpfs(d, read_only=True)
    return Run(["export", *_both(d), "-o", str(disk / "old.npz")], fragments=("read-only file system",))


@case("train_onto_a_read_only_disk")
def _(d):
    disk = _tmpfs(d, read_only=True)
    return Run(["train", str(_text(d)), "-o", str(disk / "old.npz"), "--epochs", "1"],
               fragments=("old.npz", "read-only file system"))


@case("export_onto_a_full_disk")
def _(d):
    disk = _tmpfs(d)
    return Run(["export", *_both(d), "-o", str(disk / "old.npz")], status=1,
               fragments=("old.npz", "No space left on device", "unchanged"))


@case("train_onto_a_full_disk")
def _(d):
    disk = _tmpfs(d)
    return Run(["train", str(_text(d)), "-o", str(disk / "old.npz"), "--hidden", "64", "--epochs", "1", "--json"],
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


# -- running a case ---------------------------------------------------------------------------

def _state(root: Path) -> dict[str, tuple]:
    """Every node under ``root``: its type, and for regular files their bytes and modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        kind = stat.S_IFMT(st.st_mode)
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else os.readlink(path) if path.is_symlink() else None
        out[str(path.relative_to(root))] = (kind, content, st.st_mtime_ns if stat.S_ISREG(st.st_mode) else None,
                                            st.st_rdev if stat.S_ISCHR(st.st_mode) else None)
    return out


def _run(folder: Path, run: Run) -> subprocess.CompletedProcess:
    before = _state(folder)
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
    after = _state(folder)
    written = {name for name in after if name not in before}
    assert not any(name.endswith(".tmp") for name in written), written  # no temporary file is left
    assert {name: after.get(name) for name in before} == before, "an input or an old file changed"
    return proc


@pytest.mark.parametrize("name", CASES)
def test_hostile_case(folder, name):
    run = CASES[name](folder)
    proc = _run(folder, run)
    if run.check is not None:
        if proc.stdout:
            (folder / "info.json").write_text(proc.stdout)
        run.check(folder)
