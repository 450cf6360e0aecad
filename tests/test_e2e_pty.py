"""End to end: the installed ``factormap-tui`` in a real pseudo-terminal, driven by key presses."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from factormap.engine.model import Model, save_model
from tests.app_helpers import APP_TEXT
from tests.naive import random_model_arrays

TIMEOUT = 120.0
"""Generous: the first run may compile numba kernels. This is not a timing test."""


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty (as a login shell has)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A child process on a pty of 80x24, with everything it wrote so far."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        base = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env = {**base, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", **(env or {})}
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                     preexec_fn=_own_terminal)
        os.close(slave)
        self.output = b""

    def read(self, seconds: float = 0.1) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                return
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def wait_for(self, needle: bytes, since: int = 0) -> int:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            i = self.output.find(needle, since)
            if i >= 0:
                return i
            if self.proc.poll() is not None:
                break
            self.read(0.2)
        raise AssertionError(f"{needle!r} never appeared; the tail of the output: {self.output[-2000:]!r}")

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def hang_up(self) -> None:
        """Close the master side, as sshd does when the connection drops."""
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)


@pytest.fixture
def inputs(tmp_path):
    model = Model(**random_model_arrays(16, 3, 1.0), source="random")
    save_model(model, tmp_path / "model.bin")
    (tmp_path / "text.txt").write_bytes(APP_TEXT)
    return tmp_path / "model.bin", tmp_path / "text.txt"


def test_steps_toggles_an_intervention_and_quits_with_status_0(inputs, tmp_path):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    model_path, text_path = inputs
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in inputs]
    term = Terminal([exe, str(model_path), str(text_path)], cwd=tmp_path)
    try:
        term.wait_for(b"t 0/1,383")
        term.wait_for(b"[ ]")
        for _ in range(3):
            term.send(b"l")
        mark = term.wait_for(b"t 3/1,383")
        term.send(b"\t\t\t")                     # focus: oscilloscope, attribution, interventions
        time.sleep(0.5)
        term.send(b"4")                          # the random-direction edit
        term.wait_for(b"[x]", since=mark)
        term.send(b"q")
        status = term.proc.wait(timeout=TIMEOUT)
        term.read(0.2)
    finally:
        term.close()
    assert status == 0, term.output[-2000:]
    assert b"Traceback" not in term.output
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in inputs] == before


def test_sighup_ends_the_process_cleanly(inputs, tmp_path):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    term = Terminal([exe, *map(str, inputs)], cwd=tmp_path)
    try:
        term.wait_for(b"t 0/1,383")
        term.proc.send_signal(signal.SIGHUP)
        status = term.proc.wait(timeout=TIMEOUT)
        term.read(0.2)
    finally:
        term.close()
    assert status == 0, (status, term.output[-2000:])
    assert b"Traceback" not in term.output


def test_a_dropped_connection_ends_the_process_cleanly(inputs, tmp_path):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    term = Terminal([exe, *map(str, inputs)], cwd=tmp_path)
    try:
        term.wait_for(b"t 0/1,383")
        term.hang_up()                          # the kernel sends SIGHUP; the terminal is gone
        status = term.proc.wait(timeout=TIMEOUT)
    finally:
        term.close()
    assert status == 0


def test_ctrl_c_during_the_whole_text_pass_quits(tmp_path):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    model = Model(**random_model_arrays(64, 5, 1.0), source="random")
    save_model(model, tmp_path / "model.bin")
    (tmp_path / "text.txt").write_bytes(APP_TEXT * 6000)          # 8 MB: the pass is still running
    term = Terminal([exe, str(tmp_path / "model.bin"), str(tmp_path / "text.txt")], cwd=tmp_path)
    try:
        term.wait_for(b"t 0/")
        term.wait_for(b"BPC ")
        term.send(b"\x03")
        status = term.proc.wait(timeout=TIMEOUT)
        term.read(0.2)
    finally:
        term.close()
    assert status == 0, term.output[-2000:]
    assert b"Traceback" not in term.output


def test_no_arguments_open_the_demo_and_say_so(tmp_path):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    term = Terminal([exe], cwd=tmp_path)
    try:
        term.wait_for(b"demo_model.bin")
        term.wait_for(b"This is the demo")
        term.send(b"q")
        status = term.proc.wait(timeout=TIMEOUT)
    finally:
        term.close()
    assert status == 0


def test_first_frame_comes_before_the_kernels_compile_and_shows_progress(inputs, tmp_path, monkeypatch):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-numba-cache"))
    term = Terminal([exe, *map(str, inputs)], cwd=tmp_path)
    try:
        term.wait_for(b"t 0/1,383")
        first = term.wait_for(b"kernels")
        assert b"BPC 1" not in term.output[:first]            # no figure yet: still compiling
        term.send(b"q")
        status = term.proc.wait(timeout=TIMEOUT)
    finally:
        term.close()
    assert status == 0
    assert b"Traceback" not in term.output


@pytest.mark.parametrize("env", [{"TERM": "screen-256color"}, {"TERM": "tmux-256color"},
                                 {"TERM": "xterm", "NO_COLOR": "1"}], ids=["screen", "tmux", "no-color"])
def test_other_terminals_work(inputs, tmp_path, env):
    exe = shutil.which("factormap-tui")
    assert exe, "the console script is not installed"
    term = Terminal([exe, *map(str, inputs)], cwd=tmp_path, env=env)
    try:
        term.wait_for(b"t 0/1,383")
        term.send(b"l")
        term.wait_for(b"t 1/1,383")
        term.send(b"q")
        status = term.proc.wait(timeout=TIMEOUT)
    finally:
        term.close()
    assert status == 0
    assert b"Traceback" not in term.output
