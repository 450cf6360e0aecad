"""End to end: keys that reach the installed ``factormap-tui`` in one read, and ``q`` while it compiles.

A terminal delivers what was typed fast, pasted, or sent over a slow link in one read; each test here
writes a whole command to the pseudo-terminal with one ``write`` and checks what the app shows.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from factormap.engine.model import Model, save_model
from tests.app_helpers import APP_TEXT
from tests.naive import random_model_arrays
from tests.test_e2e_pty import Terminal

TEXT = APP_TEXT + b"<siteinfo><sitename>Wikipedia</sitename></siteinfo>\n" * 3
"""The app text with three matches of "Wiki"."""
LAST = f"{len(TEXT):,}"
QUIT_WITHIN = 15.0
"""Seconds after ``q`` by which the process must have ended. The app ends itself within 2 s
(launch.QUIT_DEADLINE); this bound only tells a hang (seen: 120 s and more) from an exit."""


def position(t: int) -> bytes:
    """How the status line shows the cursor at ``t``."""
    return f"t {t:,}/{LAST}".encode()


def session_processes(leader: int) -> list[int]:
    """Live processes of the session ``leader`` started (the app and any child of it)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == leader and not _is_zombie(int(entry)):
                    pids.append(int(entry))
            except (ProcessLookupError, PermissionError):
                continue
    return pids


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def exit_status(term: Terminal) -> int:
    """The process's exit status, reading what it writes meanwhile (a full pty would block its
    last frame and the terminal reset, and so the exit); fails after :data:`QUIT_WITHIN` s."""
    deadline = time.monotonic() + QUIT_WITHIN
    while term.proc.poll() is None and time.monotonic() < deadline:
        term.read(0.1)
    assert term.proc.poll() is not None, f"still running {QUIT_WITHIN} s after q: {term.output[-2000:]!r}"
    return term.proc.returncode


@pytest.fixture
def app_inputs(tmp_path):
    model = Model(**random_model_arrays(16, 3, 1.0), source="random")
    save_model(model, tmp_path / "model.bin")
    (tmp_path / "text.txt").write_bytes(TEXT)
    return tmp_path / "model.bin", tmp_path / "text.txt"


@pytest.fixture
def exe():
    path = shutil.which("factormap-tui")
    assert path, "the console script is not installed"
    return path


def test_commands_written_in_one_go_do_what_they_say(app_inputs, tmp_path, exe):
    term = Terminal([exe, *map(str, app_inputs)], cwd=tmp_path)
    try:
        term.wait_for(position(0))
        since = len(term.output)
        term.send(b"500l")
        since = term.wait_for(position(500), since)
        term.send(b"mq")                        # a mark called q, not a quit
        term.send(b"gg")
        since = term.wait_for(position(0), since + 1)
        assert term.proc.poll() is None, "mq quit the app"
        term.send(b"'q")
        since = term.wait_for(position(500), since)
        term.send(b"/Wiki\r")
        term.wait_for(b"3 matches of", since)
        term.wait_for(position(TEXT.find(b"Wiki")), since)
        assert term.proc.poll() is None
        term.send(b"q")
        status = term.proc.wait(timeout=QUIT_WITHIN)
        term.read(0.2)
    finally:
        term.close()
    assert status == 0, term.output[-2000:]
    assert b"Traceback" not in term.output


def test_a_search_typed_before_the_first_frame_runs(app_inputs, tmp_path, exe):
    # Written at once, before the app puts the terminal in raw mode: the line discipline turns the
    # line's end into LF, which the app reads as ctrl+j (written as LF here so that no timing matters).
    term = Terminal([exe, *map(str, app_inputs)], cwd=tmp_path)
    try:
        term.send(b"/Wiki\n")
        term.wait_for(b"3 matches of")
        term.wait_for(position(TEXT.find(b"Wiki")))
        term.send(b"q")
        status = exit_status(term)
    finally:
        term.close()
    assert status == 0, term.output[-2000:]
    assert b"Traceback" not in term.output


def test_a_burst_that_opens_and_closes_two_prompts_ends_where_it_says(app_inputs, tmp_path, exe):
    term = Terminal([exe, *map(str, app_inputs)], cwd=tmp_path)
    try:
        since = term.wait_for(position(0))
        term.send(b"G/Wiki\rn:100\r10l")     # one write: the app reads it as one burst
        term.wait_for(position(110), since)
        term.send(b":feature digits=[0-9]\r5l")   # none of it taken as keys: the cursor moves 5
        term.wait_for(b"feature digits: ", since)
        term.wait_for(position(115), since)
        assert term.proc.poll() is None
        term.send(b"q")
        status = exit_status(term)
    finally:
        term.close()
    assert status == 0, term.output[-2000:]
    assert b"Traceback" not in term.output


def test_q_on_the_dashboard_ends_the_process(app_inputs, tmp_path, exe):
    term = Terminal([exe, *map(str, app_inputs)], cwd=tmp_path)
    try:
        since = term.wait_for(position(0))
        term.send(b"D")
        term.wait_for(b"dashboard", since)
        term.send(b"q")                         # quits, also while the charts are being computed
        status = exit_status(term)
    finally:
        term.close()
    assert status == 0, term.output[-2000:]
    assert b"Traceback" not in term.output


def test_q_while_the_first_run_compiles_ends_every_process(app_inputs, tmp_path, exe):
    cache = tmp_path / "empty-numba-cache"
    term = Terminal([exe, *map(str, app_inputs)], cwd=tmp_path, env={"NUMBA_CACHE_DIR": str(cache)})
    try:
        term.wait_for(position(0))
        term.wait_for(b"kernels")
        compiling = session_processes(term.proc.pid)
        assert len(compiling) >= 2, "no warm-up child next to the app: the cache was not empty"
        term.send(b"q")
        pressed = time.monotonic()
        status = term.proc.wait(timeout=QUIT_WITHIN)
        took = time.monotonic() - pressed
        term.read(0.2)
        left = session_processes(term.proc.pid)
    finally:
        term.close()
    assert status == 0, (took, term.output[-2000:])
    assert left == [], f"left behind after q: {left}"
    assert b"Traceback" not in term.output
