"""Compile every numba kernel of the engine ahead of use, so numba's on-disk cache is filled.

Convention (see :mod:`factormap.engine.kernels`): any module under ``factormap.engine`` may define
``warm(exact: bool = True) -> None``, which calls its kernels on tiny inputs of every array type the
engine passes them (dtype, and read-only weights), so each signature is compiled and cached. With
``exact`` false it compiles only what a float32 model runs by default, leaving out the float64
and ``exact=True`` paths (reference checks, float64 models) that the explorer never takes. :func:`warm_engine`
imports every engine module and calls each ``warm()`` it finds.

numba compiles one kernel at a time per process (a global compiler lock, and the GIL), so an empty
cache costs the sum of every kernel's compile time. :func:`start_child_warmup` hands some modules to
a child Python process, which compiles them on another core meanwhile; ``warm_engine(ahead=...)``
then loads those from the cache it filled (``python -m factormap.engine.warmup`` is the child).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import factormap.engine

#: Seconds to wait for a child warm-up before compiling its modules here instead.
CHILD_TIMEOUT = 120.0


@dataclass(frozen=True)
class Warmed:
    """One module's warm-up.

    Attributes
    ----------
    module
        dotted module name.
    seconds
        wall-clock seconds its ``warm()`` took (compiling, or loading from the cache).
    """

    module: str
    seconds: float


def engine_modules() -> list[str]:
    """Dotted names of every module and package under ``factormap.engine``, sorted."""
    prefix = factormap.engine.__name__ + "."
    names = [info.name for info in pkgutil.walk_packages(factormap.engine.__path__, prefix)]
    return sorted([factormap.engine.__name__, *names])


def warmed_modules(skip: Collection[str] = ()) -> list[str]:
    """Engine modules that define ``warm()``, in :func:`engine_modules` order, but those in ``skip``."""
    return [name for name in engine_modules()
            if name != __name__ and name not in skip
            and callable(getattr(importlib.import_module(name), "warm", None))]


def warm_engine(on_module: Callable[[Warmed], None] | None = None, skip: Collection[str] = (),
                exact: bool = True, ahead: ChildWarmup | None = None) -> list[Warmed]:
    """Call ``warm(exact)`` of every engine module that defines one, but those named in ``skip``;
    report each as it finishes. Without ``exact`` only the fast float32 paths are compiled.

    Modules that ``ahead`` is compiling in a child process come last, once the child has ended,
    so that they load from the cache it filled (or compile here if it failed).
    """
    done = []
    try:  # whatever fails, even finding the modules, ``ahead.loaded`` is set: waiters must not hang
        later = [] if ahead is None else [name for name in ahead.modules if name not in skip]
        names = [name for name in warmed_modules(skip) if name not in later]
        for i, name in enumerate(names + later):
            if i == len(names):
                ahead.wait()
            t0 = time.perf_counter()
            importlib.import_module(name).warm(exact)
            item = Warmed(name, time.perf_counter() - t0)
            done.append(item)
            if on_module is not None:
                on_module(item)
    finally:
        if ahead is not None:
            ahead.loaded.set()
    return done


def needs_compiling(name: str) -> bool:
    """Whether some kernel of module ``name`` has no current entry in numba's on-disk cache.

    A kernel counts as cached when its cache index holds an entry for its present source and numba
    version, whatever the signature: enough to tell a first run from a later one. Reads numba's
    cache index through its private attributes; where those differ, says False (no child is started
    and the module compiles here as it would anyway).
    """
    from numba.core.registry import CPUDispatcher

    for value in vars(importlib.import_module(name)).values():
        if not isinstance(value, CPUDispatcher) or value.__module__ != name:
            continue
        if value.targetoptions.get("inline") == "always":
            continue  # compiled only inside its callers
        load_index = getattr(getattr(getattr(value, "_cache", None), "_cache_file", None), "_load_index", None)
        if callable(load_index) and not load_index():
            return True
    return False


class ChildWarmup:
    """A child Python process calling ``warm(exact)`` of some engine modules, filling numba's cache.

    Its standard streams are closed, so nothing it prints reaches the terminal of the parent.
    Until :attr:`loaded` is set (by :func:`warm_engine`, once it has loaded them here), code that
    calls those modules' kernels should wait on it: calling them earlier would compile them in
    this process too, at the same time as the child.
    """

    def __init__(self, modules: Sequence[str], exact: bool = True) -> None:
        self.modules = tuple(modules)
        self.loaded = threading.Event()
        argv = [sys.executable, "-m", __name__, *([] if exact else ["--fast"]), *self.modules]
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)

    def wait(self, timeout: float = CHILD_TIMEOUT) -> bool:
        """Wait for the child to end (killing it after ``timeout`` seconds); whether it succeeded."""
        try:
            return self._process.wait(timeout) == 0
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return False

    def stop(self) -> None:
        """End the child now if it is still compiling (the parent is quitting).

        numba writes each cache file under a temporary name and renames it, so a killed child
        leaves whole cache files or none (at most a stray ``.tmp`` file); the next run compiles
        what is missing.
        """
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def start_child_warmup(modules: Sequence[str], exact: bool = True) -> ChildWarmup | None:
    """Start a :class:`ChildWarmup` for those of ``modules`` whose kernels need compiling, or None
    when all of them are in the cache already (loading them here is faster than a child) or no
    process can be started (they then compile here)."""
    cold = [name for name in modules if needs_compiling(name)]
    if not cold:
        return None
    try:
        return ChildWarmup(cold, exact)
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m factormap.engine.warmup [--fast] MODULE...``: warm the named modules (the child)."""
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}")
    parser.add_argument("--fast", action="store_true", help="only the fast float32 paths (exact=False)")
    parser.add_argument("modules", nargs="+")
    args = parser.parse_args(argv)
    for name in args.modules:
        importlib.import_module(name).warm(not args.fast)
    return 0


if __name__ == "__main__":
    # The parent waits for this process to end: skip the interpreter's teardown (~0.15 s, numba's
    # and LLVM's objects); the cache files are written and closed by now, and no stream is open.
    os._exit(main())
