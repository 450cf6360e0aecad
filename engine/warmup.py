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
Modules given to the child as ``shared`` are compiled by whichever of the two processes gets to
them first (each claims a module by creating a file in a folder they share), so that the split
stays even whichever kernels compile longest on this machine and at this version.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import tempfile
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
    so that they load from the cache it filled (or compile here if it failed); so do the shared
    modules it claimed first (:meth:`ChildWarmup.claim`).
    """
    done = []

    def warm(name: str) -> None:
        t0 = time.perf_counter()
        importlib.import_module(name).warm(exact)
        done.append(Warmed(name, time.perf_counter() - t0))
        if on_module is not None:
            on_module(done[-1])

    try:  # whatever fails, even finding the modules, ``ahead.loaded`` is set: waiters must not hang
        later = [] if ahead is None else [name for name in ahead.modules if name not in skip]
        for name in [name for name in warmed_modules(skip) if name not in later]:
            importlib.import_module(name)
            if ahead is not None and not ahead.claim(name):
                later.append(name)
            else:
                warm(name)
        if later:
            ahead.wait()
        for name in later:
            warm(name)
    finally:
        if ahead is not None:
            ahead.loaded.set()
    return done


def needs_compiling(name: str) -> bool:
    """Whether some kernel of module ``name`` has no current entry in numba's on-disk cache.

    A kernel counts as cached when its cache index holds an entry for its present source, numba
    version and the CPU features numba compiles for here, whatever the signature: enough to tell a
    first run from a later one (and a cache filled for other features, e.g. before
    :mod:`~factormap.engine.kernels.vector_width` widened them, from a current one). Reads numba's
    cache index through its private attributes; where those differ, says False (no child is started
    and the module compiles here as it would anyway).
    """
    from numba.core.registry import CPUDispatcher, cpu_target

    module = importlib.import_module(name)  # first: the kernels package sets numba's CPU features
    codegen = cpu_target.target_context.codegen().magic_tuple()
    for value in vars(module).values():
        if not isinstance(value, CPUDispatcher) or value.__module__ != name:
            continue
        if value.targetoptions.get("inline") == "always":
            continue  # compiled only inside its callers
        load_index = getattr(getattr(getattr(value, "_cache", None), "_cache_file", None), "_load_index", None)
        if callable(load_index) and not any(_key_codegen(key) == codegen for key in load_index()):
            return True
    return False


def _key_codegen(key) -> tuple | None:
    """The code generator's (triple, CPU name, features) in a key of numba's cache index, which is
    ``(signature, magic_tuple, hashes)``; None for a key of another shape."""
    return key[1] if isinstance(key, tuple) and len(key) == 3 else None


class ChildWarmup:
    """A child Python process calling ``warm(exact)`` of some engine modules, filling numba's cache,
    then of those ``shared`` modules that it claims before the parent does.

    Its standard streams are closed, so nothing it prints reaches the terminal of the parent.
    Until :attr:`loaded` is set (by :func:`warm_engine`, once it has loaded them here), code that
    calls those modules' kernels should wait on it: calling them earlier would compile them in
    this process too, at the same time as the child.

    Attributes
    ----------
    modules
        the modules the child compiles.
    shared
        the modules either process compiles, whichever claims it first.
    loaded
        set once the parent has loaded the child's modules.
    """

    def __init__(self, modules: Sequence[str], exact: bool = True, shared: Sequence[str] = ()) -> None:
        self.modules, self.shared = tuple(modules), tuple(shared)
        self.loaded = threading.Event()
        self._claims = tempfile.mkdtemp(prefix="factormap-warmup-")
        argv = [sys.executable, "-m", __name__, *([] if exact else ["--fast"]), "--claims", self._claims,
                *(f"--shared={name}" for name in self.shared), *self.modules]
        try:
            self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        except OSError:
            shutil.rmtree(self._claims, ignore_errors=True)
            raise

    def claim(self, name: str) -> bool:
        """Whether the parent is to compile module ``name``: True unless it is shared and the
        child claimed it first (the parent's claim, once made, keeps the child off it)."""
        return name not in self.shared or claim_module(self._claims, name)

    def wait(self, timeout: float = CHILD_TIMEOUT) -> bool:
        """Wait for the child to end (killing it after ``timeout`` seconds); whether it succeeded."""
        try:
            return self._process.wait(timeout) == 0
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return False
        finally:
            shutil.rmtree(self._claims, ignore_errors=True)

    def stop(self) -> None:
        """End the child now if it is still compiling (the parent is quitting).

        numba writes each cache file under a temporary name and renames it, so a killed child
        leaves whole cache files or none (at most a stray ``.tmp`` file); the next run compiles
        what is missing.
        """
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._claims, ignore_errors=True)


def claim_module(folder: str, name: str) -> bool:
    """Claim module ``name`` for this process by creating its file in ``folder``: False when the
    other process did first (True, to compile it here, when the folder is gone: the child ended)."""
    try:
        os.close(os.open(os.path.join(folder, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True


def start_child_warmup(modules: Sequence[str], exact: bool = True, shared: Sequence[str] = ()) -> ChildWarmup | None:
    """Start a :class:`ChildWarmup` for those of ``modules`` and ``shared`` whose kernels need
    compiling, or None when none of ``modules`` does (loading them here is faster than a child)
    or no process can be started (they then compile here)."""
    cold = [name for name in modules if needs_compiling(name)]
    if not cold:
        return None
    try:
        return ChildWarmup(cold, exact, [name for name in shared if needs_compiling(name)])
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m factormap.engine.warmup [--fast] [--claims DIR --shared=NAME...] MODULE...``: warm
    the named modules, then each shared one that this process claims in DIR first (the child)."""
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}")
    parser.add_argument("--fast", action="store_true", help="only the fast float32 paths (exact=False)")
    parser.add_argument("--claims", help="folder where the two processes claim shared modules")
    parser.add_argument("--shared", action="append", default=[], help="a module either process may compile")
    parser.add_argument("modules", nargs="+")
    args = parser.parse_args(argv)
    for name in args.modules:
        importlib.import_module(name).warm(not args.fast)
    for name in args.shared:
        if needs_compiling(name) and claim_module(args.claims, name):
            importlib.import_module(name).warm(not args.fast)
    return 0


if __name__ == "__main__":
    # The parent waits for this process to end: skip the interpreter's teardown (~0.15 s, numba's
    # and LLVM's objects); the cache files are written and closed by now, and no stream is open.
    os._exit(main())
