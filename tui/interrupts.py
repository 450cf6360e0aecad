"""Ctrl-C during a numba compile ends a headless command as any Ctrl-C does (status 130).

numba compiles through llvmlite, whose LLVM code calls back into Python through ctypes (the
object cache's ``ExecutionEngine._raw_object_cache_notify``, right after LLVM has emitted a
module's machine code: the first Python code to run after the longest stretch of a compile). A
SIGINT that arrives during that stretch is raised as KeyboardInterrupt inside the callback, where
ctypes cannot pass it on: it prints ``Exception ignored on calling ctypes callback function`` and
the command goes on compiling as if no Ctrl-C had been typed, or fails later with numba's
``RuntimeError: no compiled object yet`` (the callback never stored the machine code).
"""

from __future__ import annotations

import _thread
import functools
import queue
import signal
import sys
import threading
import time

RESEND_DELAY = 0.005
"""Seconds from a held-back or lost interrupt to sending it again (the callback is over by then)."""


@functools.cache
def raise_lost_interrupts() -> None:
    """From now on, Ctrl-C is never raised where Python would lose it: once per process.

    A SIGINT met inside llvmlite (its callbacks run on the stack of its own Python wrappers) is
    held back and sent again :data:`RESEND_DELAY` seconds later, until it meets the main thread
    outside llvmlite; any other KeyboardInterrupt that Python reports as unraisable (another
    ctypes callback, a ``__del__``) is not printed but sent again the same way. A thread sends it,
    as a SIGINT would arrive (:func:`_thread.interrupt_main`). A SIGINT that is ignored (a command
    started in the background with ``nohup``) stays ignored; other unraisable exceptions go to the
    hook that was there before.
    """
    previous = sys.unraisablehook
    again = queue.SimpleQueue()  # put() is one call into C: no Python line for a SIGINT to land on

    def resend() -> None:
        while True:
            again.get()
            time.sleep(RESEND_DELAY)
            _thread.interrupt_main()

    def on_sigint(signum, frame) -> None:
        if _inside_llvmlite(frame):
            again.put(signum)
            return
        raise KeyboardInterrupt

    def hook(unraisable) -> None:
        if issubclass(unraisable.exc_type, KeyboardInterrupt):
            again.put(signal.SIGINT)
        else:
            previous(unraisable)

    threading.Thread(target=resend, name="factormap-interrupt-again", daemon=True).start()
    sys.unraisablehook = hook
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_sigint)


def _inside_llvmlite(frame) -> bool:
    """Whether ``frame`` or one of its callers is code of llvmlite."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("llvmlite."):
            return True
        frame = frame.f_back
    return False
