"""Compile every numba kernel of the engine ahead of use, so numba's on-disk cache is filled.

Convention (see :mod:`factormap.engine.kernels`): any module under ``factormap.engine`` may define
``warm(exact: bool = True) -> None``, which calls its kernels on tiny inputs of every array type the
engine passes them (dtype, and read-only weights), so each signature is compiled and cached. With
``exact`` false it compiles only what a float32 model runs by default, leaving out the float64
and ``exact=True`` paths (reference checks, float64 models) that the explorer never takes. :func:`warm_engine`
imports every engine module and calls each ``warm()`` it finds.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import factormap.engine


@dataclass(frozen=True)
class Warmed:
    """One module's warm-up.

    Attributes:
        module: dotted module name.
        seconds: wall-clock seconds its ``warm()`` took (compiling, or loading from the cache).
    """

    module: str
    seconds: float


def engine_modules() -> list[str]:
    """Dotted names of every module and package under ``factormap.engine``, sorted."""
    prefix = factormap.engine.__name__ + "."
    names = [info.name for info in pkgutil.walk_packages(factormap.engine.__path__, prefix)]
    return sorted([factormap.engine.__name__, *names])


def warm_engine(on_module: Callable[[Warmed], None] | None = None, skip: Collection[str] = (),
                exact: bool = True) -> list[Warmed]:
    """Call ``warm(exact)`` of every engine module that defines one, but those named in ``skip``;
    report each as it finishes. Without ``exact`` only the fast float32 paths are compiled."""
    done = []
    for name in engine_modules():
        if name in skip:
            continue
        warm = getattr(importlib.import_module(name), "warm", None)
        if not callable(warm) or name == __name__:
            continue
        t0 = time.perf_counter()
        warm(exact)
        item = Warmed(name, time.perf_counter() - t0)
        done.append(item)
        if on_module is not None:
            on_module(item)
    return done
