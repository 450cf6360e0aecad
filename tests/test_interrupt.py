"""The installed command under Ctrl-C and a closed pipe: a clean exit status, never a traceback."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factormap.engine.model import save_model
from tests.child_signals import terminal_signals


def _console_script():
    exe = shutil.which("factormap-tui") or str(Path(sys.executable).with_name("factormap-tui"))
    if not Path(exe).exists():
        pytest.skip("the factormap-tui console script is not installed")
    return exe


@pytest.fixture
def long_job(tmp_path, random_model):
    """A model and a 40 MB text: any whole-text command on them runs for many seconds."""
    save_model(random_model(8), tmp_path / "m.bin")
    with open(tmp_path / "zeros.txt", "wb") as fh:
        fh.truncate(40_000_000)
    return tmp_path / "m.bin", tmp_path / "zeros.txt"


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _wait_until_working(proc, text_size: int) -> None:
    """Until the child holds the text and the session's per-byte arrays (it is then inside the pass).

    Its imports alone take about 100 MB; the text (1 byte per byte) and the session's bits (4 bytes
    per byte, filled with NaN up front) take the child past 5 bytes per text byte only after them.
    """
    deadline = time.monotonic() + 120
    while _rss_bytes(proc.pid) < 5 * text_size:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never started its pass"
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see the child working")
@pytest.mark.parametrize("command", [["info"], ["report", "--json"]])
def test_ctrl_c_exits_130_without_a_traceback(long_job, command):
    model, text = long_job
    proc = subprocess.Popen([_console_script(), command[0], str(model), str(text), *command[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            preexec_fn=terminal_signals)
    try:
        _wait_until_working(proc, text.stat().st_size)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert out == ""


LOST_INTERRUPT = """
import ctypes, signal, sys, time, types
from factormap.tui import cli, commands

stored = []

def callback():
    signal.raise_signal(signal.SIGINT)  # Ctrl-C, met at the callback's first Python line
    stored.append("machine code")       # what llvmlite's object-cache callback goes on to do

# The same code, as if defined in the module named on the command line.
callback = types.FunctionType(callback.__code__, {**globals(), "__name__": sys.argv[1]})

def run(args):
    ctypes.CFUNCTYPE(None)(callback)()  # as LLVM calls back during a compile
    print("stored" if stored else "lost", file=sys.stderr)
    for _ in range(1000):  # the rest of the command: ten seconds
        time.sleep(0.01)
    print("ran to its end")
    return 0

module = types.ModuleType("factormap.tui.commands.compile_for_test")
module.add_arguments, module.run = (lambda parser: None), run
sys.modules[module.__name__] = module
commands.COMMANDS["compile"] = ("compile_for_test", "stands in for a command compiling its kernels")
sys.exit(cli.main(["compile"]))
"""


@pytest.mark.parametrize("callback_module, kept", [
    ("llvmlite.binding.executionengine", "stored"),  # held back until llvmlite's callback is over
    ("some_other_library", "lost"),                   # lost in the callback, then sent again
])
def test_ctrl_c_met_inside_a_ctypes_callback_still_ends_the_command(callback_module, kept):
    proc = subprocess.run([sys.executable, "-c", LOST_INTERRUPT, callback_module], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, preexec_fn=terminal_signals)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", kept + "\n")


def _buffered_env():
    """The environment without PYTHONUNBUFFERED: stdout then reaches the pipe only when flushed."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_closed_stdout_pipe_is_quiet(tmp_path, random_model, sample_text):
    save_model(random_model(8), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `factormap-tui info ... | head -0`: nobody will read
    try:
        proc = subprocess.run([_console_script(), "info", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"),
                               "--json"], stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, timeout=120, env=_buffered_env())
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 0


@pytest.fixture
def failing_command(monkeypatch):
    """Register a command ``fail`` whose run raises the exception given to the returned setter."""
    import types

    from factormap.tui import commands

    raised = {}
    module = types.ModuleType("factormap.tui.commands.fail_for_test")
    module.add_arguments = lambda parser: None

    def run(args):
        raise raised["exc"]

    module.run = run
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(commands.COMMANDS, "fail", ("fail_for_test", "raises"))
    return lambda exc: raised.__setitem__("exc", exc)


@pytest.mark.parametrize("exc, status, fragment", [
    (MemoryError("Unable to allocate 298. GiB for an array"), 1, "out of memory: Unable to allocate 298. GiB"),
    (MemoryError(), 1, "out of memory"),
    (KeyboardInterrupt(), 130, None),
])
def test_late_failures_are_one_line(failing_command, capsys, exc, status, fragment):
    from factormap.tui.cli import main

    failing_command(exc)
    assert main(["fail"]) == status
    err = capsys.readouterr().err
    if fragment is None:
        assert err == ""
    else:
        assert err.count("\n") == 1 and err.startswith("factormap-tui: error:") and fragment in err, err


def test_engine_errors_met_late_are_one_line_with_status_1(failing_command, capsys):
    from factormap.engine.errors import ModelError
    from factormap.tui.cli import main

    failing_command(ModelError("<memory>: 3 NaN or Inf value(s) in Wy; the weights are unusable"))
    assert main(["fail"]) == 1
    assert capsys.readouterr().err == "factormap-tui: error: <memory>: 3 NaN or Inf value(s) in Wy; the weights are unusable\n"


def test_bugs_still_raise(failing_command):
    from factormap.tui.cli import main

    failing_command(RuntimeError("a bug"))
    with pytest.raises(RuntimeError):
        main(["fail"])
