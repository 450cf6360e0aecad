"""The oscilloscope's plotext frames drawn in a child process, off the app's GIL (issue 19).

plotext builds a frame in about 12 ms of pure Python. In a thread worker that time is taken from
the event loop's GIL: while ``l`` is held the loop waits up to the 5 ms switch interval each time
it comes back from polling, and the text pane's key-to-frame doubled. One child process per app
process (shared by every app in it, e.g. a test session's) draws instead: the window's traces go
there and the ANSI text (a few kB) comes back, while the thread worker waiting for it holds no GIL.

The child starts on the first cursor move (not at start-up, whose work has both cores) and imports
plotext, about half a second; until it has answered once, and for good if it ever fails to start
or dies, :func:`draw` returns None and the caller draws in its own thread as before.
"""

from __future__ import annotations

import atexit
import pickle
import signal
import subprocess
import sys
import threading

import numpy as np

_lock = threading.Lock()
"""Held for one request and its answer (and while the child starts)."""
_child: subprocess.Popen | None = None
_ready = threading.Event()
_failed = False


def start() -> None:
    """Start the child once per process (returns at once; it becomes ready in the background).

    It is ``python -m factormap.tui.widgets.frame_process``, not a multiprocessing child: those
    import the parent's main script again, which may be any script that runs an app.
    """
    global _child, _failed
    with _lock:
        if _child is not None or _failed:
            return
        try:
            _child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            _failed = True
            return
    atexit.register(_stop)
    threading.Thread(target=_wait_ready, name="oscilloscope frames child", daemon=True).start()


def _stop() -> None:
    """At exit: close the child's stdin (it returns on EOF) and reap it."""
    try:
        _child.stdin.close()
        _child.wait(timeout=1)
    except (OSError, subprocess.TimeoutExpired, KeyboardInterrupt):  # Ctrl-C again while it ends
        _child.kill()


def _wait_ready() -> None:
    global _failed
    try:
        ready = pickle.load(_child.stdout) == "ready"
    except Exception:  # noqa: BLE001  (any failure to start: draw in the thread instead)
        ready = False
    if ready:
        _ready.set()
    else:
        _failed = True


def draw(view, request, window_bytes: np.ndarray) -> str | None:
    """The frame of ``view`` drawn in the child, or None when the child is not ready (draw it here).

    Raises:
        RuntimeError: the child's :func:`oscilloscope_frame.draw_frame` failed (its message).
    """
    global _failed
    if _failed or not _ready.is_set():
        return None
    from plotext._dict import themes

    theme = (request.plot_theme, themes.get(request.plot_theme))
    with _lock:
        try:
            pickle.dump((view, request, window_bytes, theme), _child.stdin)
            _child.stdin.flush()
            status, answer = pickle.load(_child.stdout)
        except Exception:  # noqa: BLE001  (the child died: draw in the thread from now on)
            _failed = True
            return None
    if status != "ok":
        raise RuntimeError(answer)
    return answer


def _serve() -> None:
    """The child: draw each request read from stdin, answer on stdout, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the app's to handle
    from plotext._dict import themes
    from textual_plotext import Plot

    from factormap.tui.widgets.oscilloscope_frame import draw_frame

    plot = Plot()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    pickle.dump("ready", stdout)
    stdout.flush()
    while True:
        try:
            view, request, window_bytes, (name, colors) = pickle.load(stdin)
        except EOFError:
            return
        if colors is not None and name not in themes:
            themes[name] = colors  # the app registered its theme in its own process only
        try:
            answer = ("ok", draw_frame(plot, view, request, window_bytes))
        except Exception as error:  # noqa: BLE001  (reported to the app, which shows it)
            answer = ("error", f"{type(error).__name__}: {error}")
        pickle.dump(answer, stdout)
        stdout.flush()


if __name__ == "__main__":
    _serve()
