"""``q`` to the end of the process while the app is busy, beside a bare Textual app's quit (issue 14).

Each run spawns the installed ``factormap-tui`` in a real 80x24 pseudo-terminal, waits for a
moment named below, writes the quit key and times until the process has ended: idle (every kernel
loaded, BPC shown), during the whole-text pass over a long text, while the dashboard draws and
computes its charts (``q``, and ctrl+c), and during a first run's kernel
compilation (an empty ``NUMBA_CACHE_DIR``, with the warm-up child compiling beside the app). The
bare Textual app (:mod:`bare_app`) is timed in the same run: its quit is the reference. Medians of
several runs. Uses ../shared/reference where present, else the demo.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import common
from pty_timing import BARE_APP, READY, TIMEOUT, _drain, _own_terminal, run_in_pty

RUNS = 3
#: Target: q ends the process within this many seconds of the bare app's quit, whatever runs.
QUIT_SLACK = 0.3
LONG_TEXT_COPIES = 4000
"""The long text is the input text this many times over (the reference's 1 KB: 4 MB)."""


def quit_after(argv: list[str], env: dict[str, str], moment: re.Pattern, keys: bytes = b"",
               settle: float = 0.0, quit_key: bytes = b"q") -> float:
    """Seconds from writing ``quit_key`` to the end of the process.

    Args:
        argv: the program.
        env: its environment.
        moment: what must be on the screen first.
        keys: written once ``moment`` is seen, ``settle`` seconds before the quit key.
        settle: seconds between ``keys`` and the quit key.
        quit_key: the bytes that quit.
    """
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=_own_terminal)
    os.close(slave)
    screen, started = b"", time.perf_counter()
    try:
        while not moment.search(screen):
            if time.perf_counter() - started > TIMEOUT or not select.select([master], [], [], 0.05)[0] and \
                    proc.poll() is not None:
                raise RuntimeError(f"{moment.pattern!r} never appeared")
            try:
                screen += os.read(master, 65536)
            except OSError:
                raise RuntimeError("the program closed its terminal") from None
        if keys:
            os.write(master, keys)
        end = time.perf_counter() + settle
        while time.perf_counter() < end:
            if select.select([master], [], [], 0.01)[0]:
                _drain(master)
        pressed = time.perf_counter()
        os.write(master, quit_key)
        while proc.poll() is None and time.perf_counter() - pressed < TIMEOUT:
            if select.select([master], [], [], 0.005)[0] and not _drain(master):
                proc.wait(timeout=TIMEOUT)
        if proc.poll() is None:
            raise RuntimeError(f"no exit {TIMEOUT:.0f} s after the quit key")
        return time.perf_counter() - pressed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def main() -> None:
    """Print one row per state, each beside the bare app's quit."""
    model, text = common.input_paths()
    exe = shutil.which("factormap-tui")
    env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TERM": "xterm-256color"}
    print(f"# q to exit in an 80x24 pty ({text.name}); {common.machine()}")
    print(common.header())
    subprocess.run([exe, "warmup"], env=env, check=True, capture_output=True)
    bare = statistics.median(run_in_pty(BARE_APP, env).quit for _ in range(RUNS))
    common.emit(common.Row(f"bare Textual app, q to exit (median of {RUNS})", bare * 1e3, "ms"))
    with tempfile.TemporaryDirectory() as folder:
        long_text = Path(folder) / "long.txt"
        long_text.write_bytes(text.read_bytes() * LONG_TEXT_COPIES)
        passing = re.compile(rb"% read\)|BPC \d+\.\d+ \(\d+%\)")
        states = [
            ("idle (kernels loaded, BPC shown)", [exe, str(model), str(text)], {}, READY, b"", 1.0, b"q"),
            (f"during the whole-text pass ({long_text.stat().st_size / 1e6:.0f} MB)",
             [exe, str(model), str(long_text)], {}, passing, b"", 0.0, b"q"),
            ("while the dashboard computes (q)", [exe, str(model), str(text)], {}, READY, b"D", 0.3, b"q"),
            ("while the dashboard computes (ctrl+c)", [exe, str(model), str(text)], {}, READY, b"D", 0.3, b"\x03"),
        ]
        for name, argv, extra, moment, keys, settle, quit_key in states:
            took = statistics.median(quit_after(argv, {**env, **extra}, moment, keys, settle, quit_key)
                                     for _ in range(RUNS))
            emit(f"q to exit, {name}", took, bare)
        runs = []
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as cache:
                runs.append(quit_after([exe, str(model), str(text)], {**env, "NUMBA_CACHE_DIR": cache},
                                       re.compile(rb"kernels \d")))
        emit("q to exit, first run compiling (empty cache)", statistics.median(runs), bare)


def emit(name: str, took: float, bare: float) -> None:
    """One row: ``took`` seconds beside the bare app's ``bare``."""
    common.emit(common.Row(f"{name} (median of {RUNS})", took * 1e3, "ms", reference=bare * 1e3,
                           ratio=bare / took, target=f"<= bare + {QUIT_SLACK * 1e3:.0f} ms",
                           met=took <= bare + QUIT_SLACK))


if __name__ == "__main__":
    main()
