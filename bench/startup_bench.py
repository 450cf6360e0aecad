"""Start-up of ``factormap-tui MODEL TEXT`` as a whole process, in a real 80x24 pseudo-terminal (issue 8).

Two moments are timed from the process's start: the first drawn frame (the text pane's title is on
the screen) and "ready" (the status line shows the final BPC, which the app computes only after it
has loaded or compiled every engine kernel). With a warm numba cache (``factormap-tui warmup`` run
first) and with an empty one (``NUMBA_CACHE_DIR`` pointed at a new folder). Medians of several
starts. Uses ../shared/reference where present, else the demo.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import tempfile
import termios
import time
from pathlib import Path

import common

FIRST_FRAME = re.compile("text · surprisal".encode())
READY = re.compile(rb"BPC \d\.\d{4}")
TIMEOUT = 120.0


def _own_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def start_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning ``argv`` on a pty to the first frame and to ready; then quits it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=_own_terminal)
    os.close(slave)
    screen, first, ready = b"", None, None
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
        os.write(master, b"q")
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    if first is None or ready is None:
        raise RuntimeError(f"the app did not draw its first frame and its BPC within {TIMEOUT:.0f} s")
    return first, ready


def main() -> None:
    """Print the start-up rows."""
    model, text = (str(p) for p in common.input_paths())
    name = Path(text).name
    exe = shutil.which("factormap-tui")
    env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TERM": "xterm-256color"}
    print(f"# start-up of factormap-tui in an 80x24 pty ({name}); {common.machine()}")
    print(common.header())
    subprocess.run([exe, "warmup"], env=env, check=True, capture_output=True)
    warm = [start_once([exe, model, text], env) for _ in range(5)]
    first = statistics.median(f for f, _ in warm)
    common.emit(common.Row("start-up to the first frame, warm numba cache (median of 5)", first * 1e3, "ms",
                           target="<= 600 ms", met=first <= 0.6))
    common.emit(common.Row("start-up to ready (kernels loaded, BPC shown), warm cache", statistics.median(
        r for _, r in warm) * 1e3, "ms"))
    cold = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(start_once([exe, model, text], {**env, "NUMBA_CACHE_DIR": cache}))
    first = statistics.median(f for f, _ in cold)
    ready = statistics.median(r for _, r in cold)
    common.emit(common.Row("start-up to the first frame, empty numba cache (median of 2)", first * 1e3, "ms",
                           target="<= 1000 ms", met=first <= 1.0))
    common.emit(common.Row("start-up to every kernel ready, empty numba cache", ready, "s",
                           target="<= 3 s", met=ready <= 3.0))


if __name__ == "__main__":
    main()
