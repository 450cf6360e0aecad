"""Every bad input, through ``factormap-tui MODEL TEXT`` and each headless command taking them.

Each must end with one line naming the file and the problem and exit status 2, before any app
starts, and leave the input files' bytes and modification times as they were. Odd but valid
texts (binary, invalid UTF-8, one 10 MB line, CRLF, control characters) must simply work.
"""

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from factormap.engine import bin_format
from factormap.engine import text as text_module
from factormap.engine.config import MAX_MODEL_BYTES
from factormap.engine.forward import forward
from factormap.engine.model import ARRAY_NAMES, float_count, load_model, save_model
from factormap.engine.session import Session
from factormap.tui.cli import main


class _Terminal:
    """A stream that says it is a terminal; everything else goes to the stream it wraps."""

    def __init__(self, stream):
        self._stream = stream

    def isatty(self):
        return True

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _SysOnATerminal:
    """``sys`` as launch sees it from a terminal: stdin and stdout are ttys (read at each use, so
    pytest's capture still receives the output); setswitchinterval leaves pytest's own alone."""

    @property
    def stdin(self):
        return _Terminal(sys.stdin)

    @property
    def stdout(self):
        return _Terminal(sys.stdout)

    def setswitchinterval(self, interval):
        pass

    def __getattr__(self, name):
        return getattr(sys, name)


@pytest.fixture
def app_launches(monkeypatch):
    """The real launch path on a terminal, with the app replaced by a recorder of its inputs.

    Returns the list of (model_path, text_path, session) the app was started with.
    """
    from factormap.tui import app as app_module
    from factormap.tui import launch as launch_module

    launched = []

    class RecordingApp:
        return_code = 0
        refused_input = None
        warmup_ahead = None
        driver_class = None

        def __init__(self, opening, model_path, text_path, notice=None, warmup_ahead=None, recorder=None,
                     replay_actions=None):
            # The app opens the engine behind its first frame; the session it would open:
            self.session = Session(opening.load_model(), opening.text)
            launched.append((model_path, text_path, self.session))
            self.recorder = recorder

        def run(self, **kwargs):
            return None

    monkeypatch.setattr(app_module, "FactormapApp", RecordingApp)
    monkeypatch.setattr(launch_module, "_exit_soon", lambda code: None)  # it would end pytest itself
    # the stand-in never quits, and pytest's stdin has no terminal attributes to restore
    monkeypatch.setattr(launch_module, "_quit_deadline", lambda seconds, key_seconds, app: None)
    monkeypatch.setattr(launch_module, "_key_reading", lambda driver_class, app: driver_class)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr(launch_module, "sys", _SysOnATerminal())
    return launched


@pytest.fixture
def model_file(tmp_path, random_model):
    path = tmp_path / "model.bin"
    save_model(random_model(8), path)
    return path


@pytest.fixture
def text_file(tmp_path, sample_text):
    path = tmp_path / "text.txt"
    path.write_bytes(sample_text)
    return path


def _snapshot(paths):
    """Bytes and modification time of each file; for huge sparse files, size and blocks used."""
    def state(p):
        st = p.stat()
        content = p.read_bytes() if st.st_size < 64 << 20 else (st.st_size, st.st_blocks)
        return content, st.st_mtime_ns

    def is_file(p):
        try:
            return p.is_file()
        except OSError:
            return False

    return {p: state(p) for p in paths if is_file(p)}


def _refused(capsys, app_launches, model, text, *fragments, named=None):
    """Every entry point taking MODEL TEXT prints one line naming ``named`` with ``fragments`` and
    exits 2; no app starts; the files are untouched."""
    before = _snapshot([Path(model), Path(text)])
    for argv in (["info", model, text], ["report", model, text], ["export", model, text, "--json"], [model, text]):
        assert main([str(a) for a in argv]) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1 and captured.err.startswith("factormap-tui: error:"), captured.err
        for fragment in (str(named), *fragments) if named else fragments:
            assert fragment in captured.err, captured.err
    assert app_launches == []
    assert _snapshot([Path(model), Path(text)]) == before


# -- the model --------------------------------------------------------------------------------

def test_model_missing(tmp_path, text_file, capsys, app_launches):
    missing = tmp_path / "nope.bin"
    _refused(capsys, app_launches, missing, text_file, "no such model file", named=missing)


def test_model_is_a_directory(tmp_path, text_file, capsys, app_launches):
    (tmp_path / "models").mkdir()
    _refused(capsys, app_launches, tmp_path / "models", text_file, "is a directory", named=tmp_path / "models")


def _deny_reading(monkeypatch, path):
    """Root reads every file whatever its mode: make the permission check see what a user would."""
    path.chmod(0)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != path and real_access(p, mode))


def test_model_unreadable(model_file, text_file, capsys, app_launches, monkeypatch):
    _deny_reading(monkeypatch, model_file)
    _refused(capsys, app_launches, model_file, text_file, "not readable", named=model_file)


def test_model_empty(tmp_path, text_file, capsys, app_launches):
    (tmp_path / "empty.bin").write_bytes(b"")
    _refused(capsys, app_launches, tmp_path / "empty.bin", text_file, "empty", named=tmp_path / "empty.bin")


def test_model_truncated_by_one_byte(tmp_path, random_model, text_file, capsys, app_launches):
    path = tmp_path / "cut.bin"
    path.write_bytes(random_model(128).to_bin_bytes()[:-1])
    _refused(capsys, app_launches, path, text_file, "not a whole number", "H=128", named=path)


def test_model_size_matching_no_hidden_size(tmp_path, text_file, capsys, app_launches):
    path = tmp_path / "odd.bin"
    path.write_bytes(b"\0" * 4 * (float_count(16) + 5))
    _refused(capsys, app_launches, path, text_file, "matches no hidden size", "H=16", named=path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_model_non_finite_weights(tmp_path, random_model, text_file, capsys, app_launches, bad):
    flat = np.frombuffer(random_model(8).to_bin_bytes(), "<f4").copy()
    flat[8 * 256 + 3] = bad  # inside Wh
    path = tmp_path / "nan.bin"
    flat.tofile(path)
    _refused(capsys, app_launches, path, text_file, "NaN or Inf", "Wh", named=path)


def test_npz_missing_array(tmp_path, random_model, text_file, capsys, app_launches):
    m = random_model(8)
    path = tmp_path / "m.npz"
    np.savez(path, **{n: getattr(m, n) for n in ARRAY_NAMES if n != "Wy"})
    _refused(capsys, app_launches, path, text_file, "missing", "Wy", named=path)


def test_npz_misshaped_array(tmp_path, random_model, text_file, capsys, app_launches):
    arrays = {n: getattr(random_model(8), n) for n in ARRAY_NAMES}
    arrays["Wx"] = arrays["Wx"][:, :200]
    np.savez(tmp_path / "m.npz", **arrays)
    _refused(capsys, app_launches, tmp_path / "m.npz", text_file, "Wx", "shape", named=tmp_path / "m.npz")


def test_model_above_the_cap(tmp_path, text_file, capsys, app_launches):
    path = tmp_path / "huge.bin"
    with open(path, "wb") as fh:  # sparse: no disk used, and a correct loader never reads it
        fh.truncate(4 * float_count(24_000))
    _refused(capsys, app_launches, path, text_file, "larger than any model", f"{MAX_MODEL_BYTES:,}", named=path)


def test_model_too_large_for_memory(tmp_path, text_file, capsys, app_launches, monkeypatch):
    path = tmp_path / "big.bin"
    size = 4 * float_count(2_000)
    with open(path, "wb") as fh:
        fh.truncate(size)
    monkeypatch.setattr(bin_format, "available_memory", lambda: size)
    _refused(capsys, app_launches, path, text_file, "memory", f"{size:,} bytes are available", named=path)


@pytest.mark.parametrize("suffix", [".bin", ".npz"])
def test_model_and_text_swapped(tmp_path, random_model, text_file, capsys, app_launches, suffix):
    path = tmp_path / f"model{suffix}"
    save_model(random_model(8), path)
    _refused(capsys, app_launches, text_file, path, "swapped", "MODEL TEXT", str(path), str(text_file))


# -- the text ---------------------------------------------------------------------------------

def test_text_missing(tmp_path, model_file, capsys, app_launches):
    missing = tmp_path / "nope.txt"
    _refused(capsys, app_launches, model_file, missing, "no such text file", named=missing)


def test_text_is_a_directory(tmp_path, model_file, capsys, app_launches):
    (tmp_path / "texts").mkdir()
    _refused(capsys, app_launches, model_file, tmp_path / "texts", "is a directory", named=tmp_path / "texts")


def test_text_unreadable(model_file, text_file, capsys, app_launches, monkeypatch):
    _deny_reading(monkeypatch, text_file)
    _refused(capsys, app_launches, model_file, text_file, "not readable", named=text_file)


def test_text_is_a_pipe(tmp_path, model_file, capsys, app_launches):
    os.mkfifo(tmp_path / "fifo.txt")  # reading it would wait forever for a writer
    _refused(capsys, app_launches, model_file, tmp_path / "fifo.txt", "not a regular file", named=tmp_path / "fifo.txt")


@pytest.mark.parametrize("content, fragment", [(b"", "empty"), (b"x", "single byte")])
def test_text_too_short(tmp_path, model_file, capsys, app_launches, content, fragment):
    path = tmp_path / "short.txt"
    path.write_bytes(content)
    _refused(capsys, app_launches, model_file, path, fragment, named=path)


def test_text_too_large_for_memory(tmp_path, model_file, capsys, app_launches, monkeypatch):
    path = tmp_path / "big.txt"
    with open(path, "wb") as fh:
        fh.truncate(50_000_000)
    monkeypatch.setattr(text_module, "available_memory", lambda: 100_000_000)
    _refused(capsys, app_launches, model_file, path, "memory", "100,000,000 bytes are available", named=path)


# -- odd texts that must work -----------------------------------------------------------------

VALID_TEXTS = {
    "all_256_bytes": bytes(range(256)) * 4,
    "invalid_utf8": b"caf\xe9 \xff\xfe\xc3\x28 \xed\xa0\x80 \xf0\x28\x8c\x28 ok\n" * 20,
    "crlf": b"first line\r\nsecond line\r\n\r\nthird\r\n" * 20,
    "tabs_and_controls": b"a\tb\x00c\x07d\x1b[31mred\x1b[0m\x08\x0c\x7f\r\x0b\n" * 20,
}


@pytest.mark.parametrize("name", VALID_TEXTS)
def test_odd_texts_work(tmp_path, model_file, capsys, app_launches, name):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(VALID_TEXTS[name])
    before = _snapshot([model_file, path])
    assert main(["info", str(model_file), str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"]["bytes"] == len(VALID_TEXTS[name])
    assert np.isfinite(data["bpc"]) and data["bpc"] > 0
    for row in data["worst_positions"]:  # contexts are the text's bytes, one character each, whatever they are
        ahead, target, behind = (row[key].encode("latin-1") for key in ("context_before", "target", "context_after"))
        t = row["position"]
        assert target == VALID_TEXTS[name][t + 1:t + 2] and VALID_TEXTS[name][t + 1 - len(ahead):t + 2 + len(behind)] \
            == ahead + target + behind
    assert main([str(model_file), str(path)]) == 0
    assert [launched[:2] for launched in app_launches] == [(str(model_file), str(path))]
    assert _snapshot([model_file, path]) == before


def test_info_table_prints_control_bytes_escaped(tmp_path, model_file, capsys):
    path = tmp_path / "controls.txt"
    path.write_bytes(VALID_TEXTS["tabs_and_controls"])
    assert main(["info", str(model_file), str(path), "--worst", "40"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x00" not in out and "\x07" not in out


def test_ten_megabyte_single_line_opens(tmp_path, model_file, app_launches):
    path = tmp_path / "one_line.txt"
    path.write_bytes(b"abcdefghij klmnopqrstuvwxyz. " * (10_000_000 // 29 + 1))
    assert b"\n" not in path.read_bytes()
    assert main([str(model_file), str(path)]) == 0
    [(_, _, session)] = app_launches
    assert session.n == path.stat().st_size
    assert session.context(session.n - 5, before=1000, after=1000)[1] == b"x"  # no line scan, no copy of it all
    np.testing.assert_array_equal(session.states(0, 64), forward(session.model, session.text[:64]).states)


# -- the installed console script, as a person runs it -----------------------------------------

def _console_script():
    exe = shutil.which("factormap-tui") or str(Path(sys.executable).with_name("factormap-tui"))
    if not Path(exe).exists():
        pytest.skip("the factormap-tui console script is not installed")
    return exe


@pytest.mark.parametrize("case", ["missing", "truncated", "above_cap", "swapped"])
def test_console_script_usage_errors(tmp_path, random_model, text_file, case):
    model = tmp_path / "model.bin"
    if case == "truncated":
        model.write_bytes(random_model(4).to_bin_bytes()[:-1])
    elif case == "above_cap":
        with open(model, "wb") as fh:
            fh.truncate(4 * float_count(24_000))
    elif case == "swapped":
        save_model(random_model(4), model)
    argv = [str(text_file), str(model)] if case == "swapped" else [str(model), str(text_file)]
    before = _snapshot([model, text_file])
    for args in (["info", *argv], argv):
        proc = subprocess.run([_console_script(), *args], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("factormap-tui: error:")
    assert _snapshot([model, text_file]) == before


@pytest.mark.parametrize("value", ["-1", "10001", "ten", "1e3"])
def test_info_worst_out_of_range_is_a_usage_error(model_file, text_file, capsys, value):
    assert main(["info", str(model_file), str(text_file), "--worst", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--worst" in err and "whole number" in err, err


def test_info_worst_zero_lists_nothing(model_file, text_file, capsys):
    assert main(["info", str(model_file), str(text_file), "--worst", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["worst_positions"] == []


@pytest.mark.parametrize("name", ["two\nlines.bin", "red\x1b[31m.bin", "bell\x07.bin", "bad-\udcff-utf8.bin"])
def test_hostile_file_names_stay_one_harmless_line(tmp_path, text_file, capsys, app_launches, name):
    try:
        (tmp_path / name).write_bytes(b"not a model")
    except (UnicodeEncodeError, OSError):
        pytest.skip("this file system cannot hold that name")
    assert main(["info", str(tmp_path / name), str(text_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err, repr(err)
    assert "matches no hidden size" in err or "not a whole number" in err


def test_info_table_prints_odd_paths_literally(tmp_path, random_model, sample_text, capsys):
    folder = tmp_path / "a[/b]"  # folders "a[" and "b]": rich markup would read "[/b]" as a closing tag
    folder.mkdir(parents=True)
    save_model(random_model(4), folder / "m.bin")
    text = tmp_path / "t\x1b[41m.txt"
    text.write_bytes(sample_text)
    assert main(["info", str(folder / "m.bin"), str(text), "--worst", "1"]) == 0
    out = capsys.readouterr().out
    assert "a[/b]" in out and "\x1b" not in out


@pytest.fixture
def locked_folder(tmp_path, monkeypatch):
    """A folder whose files cannot even be looked at (no search permission), as root sees it as a user."""
    import pathlib

    locked = tmp_path / "locked"
    locked.mkdir()
    real_stat = pathlib.Path.stat

    def stat(self, *args, **kwargs):
        if locked in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    return locked


def test_model_in_a_folder_we_may_not_search(locked_folder, text_file, capsys, app_launches):
    _refused(capsys, app_launches, locked_folder / "m.bin", text_file, "Permission denied",
             named=locked_folder / "m.bin")


def test_text_in_a_folder_we_may_not_search(locked_folder, model_file, capsys, app_launches):
    _refused(capsys, app_launches, model_file, locked_folder / "t.txt", "not readable",
             named=locked_folder / "t.txt")


def test_input_the_app_refuses_is_refused_in_one_line_after_it(model_file, text_file, capsys, app_launches):
    from factormap.tui import app as app_module

    message = f"{model_file}: " + "a problem found once the app had started, longer than the terminal " * 3

    def run(self, **kwargs):  # as the app's refuse_input leaves it
        self.return_code, self.refused_input = 2, message

    app_module.FactormapApp.run = run  # the fixture's stand-in class, made for this test
    assert main([str(model_file), str(text_file)]) == 2
    assert capsys.readouterr().err == f"factormap-tui: error: {message}\n"


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_the_explorer_opens_a_bin_model_in_the_precision_asked(model_file, text_file, app_launches, precision):
    # the .bin is checked without numpy and read behind the first frame, in that precision
    assert main([str(model_file), str(text_file), "--precision", precision]) == 0
    (_, _, session), = app_launches
    assert session.model.dtype == np.dtype(precision)
    expected = load_model(model_file, np.dtype(precision))
    assert all(np.array_equal(getattr(session.model, name), getattr(expected, name)) for name in ARRAY_NAMES)
