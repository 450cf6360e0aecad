"""Open the explorer: check the terminal, load the inputs, run the app, always exit cleanly."""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
import termios
import threading
import time

from textual import events

from factormap.tui.commands.common import UsageError, load_inputs

EXIT_GRACE = 0.1
"""Seconds to wait at exit for background threads that are finishing their chunk."""
QUIT_DEADLINE = 2.0
"""Seconds from a quit to the end of the process, at the latest (Textual's shutdown takes ~0.3 s)."""
KEY_QUIT_DEADLINE = 0.4
"""The same from a quit key typed at the terminal (q, ctrl+c): nothing but Textual's own shutdown
is cut short (the status is 0 and a session record is flushed line by line)."""
RESTORE_TERMINAL = (b"\x1b[?1000l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l\x1b[?2048l\x1b[<u"
                    b"\x1b[?1049l\x1b[?25h\x1b[?1004l")
"""Mouse reports, bracketed paste, resize reports and the kitty keyboard protocol off, the main
screen back, the cursor shown, focus reports off (as Textual's driver leaves the terminal)."""
SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while others wait (Python's default is 0.005)."""
COMPILED_AHEAD = ("factormap.engine.kernels.backprop",)
"""Engine modules that a child process compiles, on a first run, while the app compiles the rest
(only fast float32 paths, as the app): the kernel of one prediction's attribution, whose compile
takes about as long as the forward pass's two kernels with numba's set-up (bench/compile_bench.py)."""
COMPILED_BY_EITHER = ("factormap.engine.kernels.block_backprop", "factormap.engine.kernels.value_bins")
"""Engine modules that the child or the app compiles, whichever is done with its own share first
(the child claims them in this order, the app in the engine's sorted module order, which is the
same here): their kernels are shared with no other module's, and which share ends first depends on
the machine (the forward pass's tiles, the vector ISA)."""


def demo_inputs() -> tuple[str, str, str]:
    """The demo model and text, and the one-line notice saying so and how to open your own files."""
    from factormap.tui.demo import demo_paths

    model_path, text_path = demo_paths()
    notice = (f"This is the demo ({model_path.name} on {text_path.name}); "
              "open your own files with: factormap-tui MODEL TEXT")
    return str(model_path), str(text_path), notice


def launch(model_path: str | None, text_path: str | None, record: str | None = None,
           replay: list[dict] | None = None, precision: str = "float32") -> int:
    """Run the app on ``model_path`` and ``text_path`` (both None: the demo); the exit status.

    ``record`` names a new session record to write; ``replay`` holds recorded actions to step through.
    ``precision`` is the float type of the weights and of every figure (``--precision``).

    Raises:
        UsageError: a terminal the app cannot draw on, an input file that cannot be used, or a
            record that cannot be created (it exists, or its folder refuses it).
    """
    if os.environ.get("TERM", "") == "dumb":
        raise UsageError("TERM=dumb cannot show the explorer; use a terminal such as xterm-256color, "
                         "or the headless commands (factormap-tui info ...)")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the explorer needs a terminal; use the headless commands (factormap-tui info ...)")
    notice = None
    if model_path is None and text_path is None:
        model_path, text_path, notice = demo_inputs()
    # A .bin model is checked here and loaded behind the first frame, which does not wait for numpy.
    model, text = load_inputs(model_path, text_path, precision, defer_bin=True)
    recorder = _recorder(record, model_path, text_path, precision) if record is not None else None

    from factormap.tui.app import FactormapApp
    from factormap.tui.opening import Opening

    # Workers hold the GIL between their numba and BLAS calls; hand it back to the event loop sooner.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # The engine (numba) is imported behind the first frame, in a worker: see Opening.
    app = FactormapApp(Opening(model, text, COMPILED_AHEAD, COMPILED_BY_EITHER), model_path, text_path, notice=notice,
                       recorder=recorder, replay_actions=replay)
    app.one_line_errors = True
    app.driver_class = _key_reading(app.driver_class, app)
    # A loop of our own: asyncio.run() would wait at exit for every thread worker to return.
    loop = asyncio.new_event_loop()

    def hang_up(_signum, _frame) -> None:
        # The terminal is gone: restoring it can block forever on writes nobody reads.
        _exit_soon(0)
        loop.call_soon_threadsafe(app.exit)

    previous = signal.signal(signal.SIGHUP, hang_up)
    app.on_quit = _quit_deadline(QUIT_DEADLINE, KEY_QUIT_DEADLINE, app)
    try:
        app.run(loop=loop)
    finally:
        signal.signal(signal.SIGHUP, previous)
        code = int(app.return_code or 0)
        _exit_soon(code)
        if app.warmup_ahead is not None:
            app.warmup_ahead.stop()
        if app.session is not None:
            app.session.close()
        if app.recorder is not None:
            app.recorder.close()
    if app.refused_input is not None:
        raise UsageError(app.refused_input)
    return code


def _recorder(path: str, model_path: str, text_path: str, precision: str):
    """The recorder of ``--record PATH`` (refused in one line before the app starts)."""
    from pathlib import Path

    from factormap.engine.attribution.prediction import DEFAULT_K
    from factormap.engine.session_record import RecordError
    from factormap.tui.recorder import SessionRecorder

    try:
        return SessionRecorder(path, Path(model_path), Path(text_path), precision, DEFAULT_K)
    except RecordError as exc:
        raise UsageError(str(exc)) from None


def _key_reading(driver_class, app):
    """``driver_class`` (the terminal's Textual driver) telling ``app.key_read`` of every key as
    its input thread reads it, before the key waits in the app's queue."""

    class KeyReadingDriver(driver_class):
        def process_message(self, message) -> None:
            """Runs in the input thread (see :meth:`textual.driver.Driver.process_message`)."""
            if isinstance(message, events.Key):
                app.key_read(message)
            super().process_message(message)

    return KeyReadingDriver


def _quit_deadline(seconds: float, key_seconds: float, app):
    """What the app calls when it starts to quit: end the process ``seconds`` later whatever blocks
    (``key_seconds`` after a quit key typed at the terminal).

    Textual's own shutdown runs on the event loop; if the loop is held up (a handler waiting on a
    kernel another thread is compiling), this thread puts the terminal back as it was before the
    app started, ends the app's warm-up child (its ``warmup_ahead``, if any) and the process, with
    the app's status.
    """
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    out = sys.stdout.fileno()  # while the app runs, sys.stdout is Textual's capture (fileno -1)

    def arm(code: int, by_key: bool) -> None:
        def force() -> None:
            time.sleep(key_seconds if by_key else seconds)
            _restore_terminal(out, fd, saved)
            if app.warmup_ahead is not None:
                app.warmup_ahead.stop()
            os._exit(code)

        threading.Thread(target=force, name="factormap-quit-deadline", daemon=True).start()

    return arm


def _restore_terminal(out: int, fd: int, saved: list) -> None:
    """Write :data:`RESTORE_TERMINAL` to the descriptor ``out`` and give ``fd`` its attributes
    ``saved`` back, as far as the terminal lets us (one that is gone refuses both)."""
    try:
        os.write(out, RESTORE_TERMINAL)
        termios.tcsetattr(fd, termios.TCSANOW, saved)
    except (OSError, termios.error):
        pass


def _exit_soon(code: int) -> None:
    """Make sure the process ends within :data:`EXIT_GRACE` seconds from now, or sooner.

    The terminal is already restored; a thread worker inside numba compilation or a long engine
    call cannot be cancelled and would otherwise keep the interpreter waiting at exit (the thread
    below ends it). Without such a worker the interpreter reaches its exit handlers first, and
    ends there: its own teardown (numba's and LLVM's objects) took 1.6 s on a loaded machine, and
    once it has begun, daemon threads such as this one no longer run. Called from a ``finally``
    while an exception propagates, it leaves the exit handlers alone.
    """
    def end() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def force() -> None:
        time.sleep(EXIT_GRACE)
        end()

    if sys.exc_info()[0] is None:  # an error on its way out sets its own status (cli.main)
        atexit.register(end)
    threading.Thread(target=force, name="factormap-exit-watchdog", daemon=True).start()
