"""``factormap-tui export MODEL TEXT --start A --stop B -o out.npz``: arrays of a range, for notebooks.

Writes, for the positions [A, B), the hidden states, bits, predicted bytes and the exact backward
attributions at offsets 0..K (see :func:`factormap.engine.export.position_arrays` for every
array's definition) to an ``.npz`` file, atomically; ``--json`` prints the same arrays as JSON,
for small ranges only. The output never replaces an input file, nor any existing file unless
``--force`` is given.
"""

from __future__ import annotations

import argparse
import io

import numpy as np

from factormap.engine.attribution.prediction import DEFAULT_K, MAX_K
from factormap.engine.export import position_arrays
from factormap.engine.output import atomic_write_bytes
from factormap.engine.session import Session
from factormap.tui.commands.common import UsageError, add_force_argument, add_precision_argument, load_inputs, \
    output_path, print_json, stderr_progress, whole_number

#: Most positions ``--json`` prints (a JSON array of states is ~3 kB per position).
JSON_LIMIT = 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``export``.

    Args:
        parser: the ``export`` parser.
    """
    parser.add_argument("model", help="model file (.bin raw float32, .npz, torch .pt/.pth or .safetensors)")
    parser.add_argument("text", help="text file (any bytes)")
    parser.add_argument("--start", type=whole_number(0), default=0, metavar="A", help="first position (default 0)")
    parser.add_argument("--stop", type=whole_number(0), default=None, metavar="B",
                        help="one past the last position (default: the end of the text)")
    parser.add_argument("-o", "--output", metavar="OUT.npz", help="write the arrays to this .npz file (a new one "
                        "unless --force)")
    add_force_argument(parser)
    parser.add_argument("--K", type=whole_number(0, MAX_K), default=DEFAULT_K, metavar="K",
                        help=f"offsets of the backward attribution (default {DEFAULT_K})")
    parser.add_argument("--target", type=_byte, default=None, metavar="BYTE",
                        help="attribute ln p of this byte at every position instead of the next byte's "
                             "(a number 0..255, 0xNN, or one character)")
    parser.add_argument("--json", action="store_true",
                        help=f"print the arrays as JSON (ranges of at most {JSON_LIMIT} positions)")
    add_precision_argument(parser)


def _byte(value: str) -> int:
    """A byte value: a number 0..255 (decimal or 0xNN) or one character of code 0..255 (an argparse ``type``)."""
    try:
        byte = int(value, 0)
    except ValueError:
        byte = ord(value) if len(value) == 1 else -1
    if not 0 <= byte < 256:
        raise argparse.ArgumentTypeError(f"expected a byte: a number 0..255, 0xNN or one character, got {value!r}")
    return byte


def _range(args: argparse.Namespace, n: int) -> tuple[int, int]:
    stop = n if args.stop is None else args.stop
    if stop > n:
        raise UsageError(f"--stop {stop} is past the end of the text ({n} bytes, positions 0..{n - 1})")
    if args.start >= stop:
        raise UsageError(f"--start {args.start} must be less than --stop {stop}")
    if args.json and stop - args.start > JSON_LIMIT:
        raise UsageError(f"--json prints at most {JSON_LIMIT} positions and [{args.start}, {stop}) has "
                         f"{stop - args.start}; use -o OUT.npz for larger ranges")
    return args.start, stop


def run(args: argparse.Namespace) -> int:
    """Compute the arrays of the range and write them (and/or print them as JSON).

    Args:
        args: parsed ``export`` arguments.

    Returns:
        0 on success (usage errors raise :class:`UsageError`).
    """
    if args.output is None and not args.json:
        raise UsageError("give -o OUT.npz to write the arrays, or --json to print them")
    out = output_path(args.output, (args.model, args.text), args.force) if args.output is not None else None
    model, text = load_inputs(args.model, args.text, args.precision)
    start, stop = _range(args, len(text))
    session = Session(model, text)
    try:
        if args.json:
            arrays = position_arrays(session, start, stop, args.K, target=args.target)
        else:
            with stderr_progress() as bar:
                task = bar.add_task("export", total=1.0)
                arrays = position_arrays(session, start, stop, args.K, target=args.target,
                                         progress=lambda f: bar.update(task, completed=f))
    finally:
        session.close()
    arrays["precision"] = np.array(args.precision)  # the float type every array was computed in
    if out is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(out, buffer.getvalue())
    if args.json:
        print_json({name: array for name, array in arrays.items()})
    elif out is not None:
        print(f"wrote {len(arrays)} arrays for positions [{start}, {stop}) to {out}")
    return 0
