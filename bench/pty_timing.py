"""Start-up and quit of a whole program in a real pseudo-terminal, timed from outside.

Shared by ``startup_bench.py`` (factormap-tui beside :mod:`bare_app`) and any quit bench: one
:func:`run_in_pty` spawns the program on an 80 x 24 pty as its controlling terminal, reads its
output until a "first frame" and a "ready" pattern have appeared, then writes ``q`` and waits for
the process to end.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

#: The text box's title, drawn by the first frame (the loading screen's, before the engine is
#: imported; then the explorer's).
FIRST_FRAME = re.compile("text · surprisal".encode())
#: The status line's BPC: the app computed it, so every engine kernel is loaded or compiled.
READY = re.compile(rb"BPC \d\.\d{4}")
TIMEOUT = 120.0
#: The bare Textual app, run with this interpreter.
BARE_APP = [sys.executable, str(Path(__file__).resolve().parent / "bare_app.py")]


@dataclass(frozen=True)
class PtyTiming:
    """Seconds of one run.

    Attributes:
        first_frame: from spawning the process to :data:`FIRST_FRAME` on the screen.
        ready: from spawning to :data:`READY` on the screen.
        quit: from writing ``q`` (after ready) to the process's end.
    """

    first_frame: float
    ready: float
    quit: float


def _own_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _drain(master: int) -> bool:
    """Read what the program wrote (so it never blocks on a full pty); False once it closed."""
    try:
        return bool(os.read(master, 65536))
    except OSError:
        return False


def run_in_pty(argv: list[str], env: dict[str, str]) -> PtyTiming:
    """Spawn ``argv`` on a pty, time its first frame and ready, then ``q`` until it exits."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=_own_terminal)
    os.close(slave)
    screen, first, ready, quit_took = b"", None, None, None
    try:
        while ready is None and time.perf_counter() - started < TIMEOUT:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
                now = time.perf_counter() - started
                if first is None and FIRST_FRAME.search(screen):
                    first = now
                if first is not None and READY.search(screen):
                    ready = now
        if ready is not None:
            pressed = time.perf_counter()
            os.write(master, b"q")
            while proc.poll() is None and time.perf_counter() - pressed < TIMEOUT:
                if select.select([master], [], [], 0.005)[0] and not _drain(master):
                    proc.wait(timeout=TIMEOUT)
            quit_took = time.perf_counter() - pressed if proc.poll() is not None else None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    if first is None or ready is None or quit_took is None:
        raise RuntimeError(f"{argv[0]} did not draw, show its BPC and quit within {TIMEOUT:.0f} s each")
    return PtyTiming(first, ready, quit_took)
