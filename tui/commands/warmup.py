"""``factormap-tui warmup``: compile every numba kernel of the engine so the on-disk cache is full.

Runs each engine module's ``warm()`` (the convention documented in ``factormap.engine.kernels``),
printing each module with its time as it finishes, then the total. With a warm cache this takes a
fraction of a second; the first run after installing compiles everything.
"""

from __future__ import annotations

import argparse
import time

from factormap.tui.commands.common import print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``warmup``."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")


def run(args: argparse.Namespace) -> int:
    """Warm every module, printing each as it finishes (or one JSON document at the end)."""
    from rich.console import Console

    from factormap.engine.warmup import warm_engine

    console = Console(highlight=False)
    t0 = time.perf_counter()
    if args.json:
        warmed = warm_engine()
    else:
        console.print("compiling the engine's numba kernels (cached after the first run) ...")
        warmed = warm_engine(lambda w: console.print(f"  {w.seconds:7.2f} s  {w.module}"))
    total = time.perf_counter() - t0
    if args.json:
        # a list, not {module: seconds}: a module's dotted name is a name, not a path into the JSON
        print_json({"modules": [{"module": w.module, "seconds": w.seconds} for w in warmed],
                    "total_seconds": total})
    else:
        console.print(f"  {total:7.2f} s  total, {len(warmed)} modules warmed")
    return 0
