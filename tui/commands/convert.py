"""``factormap-tui convert IN -o OUT.bin``: a model in any format this tool reads, written natively.

IN may be a `.bin`, `.npz`, PyTorch `.pt`/`.pth` state_dict or `.safetensors` file; OUT is the
native raw float32 `.bin` or an `.npz` of the arrays ``Wx, Wh, bh, Wy, by`` (float32), written
atomically (never half a file, never over an input, never over an existing file unless
``--force`` is given). Loading OUT gives bit-identical weights to
loading IN.
"""

from __future__ import annotations

import argparse

from factormap.tui.commands.common import UsageError, add_force_argument, load_model_file, output_path, print_json

#: Suffixes ``-o`` may have: the native formats.
OUTPUT_SUFFIXES = (".bin", ".npz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``convert``.

    Args:
        parser: the ``convert`` parser.
    """
    parser.add_argument("input", help="model file (.bin, .npz, torch .pt/.pth state_dict, or .safetensors)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.bin",
                        help="where to write the model: .bin (raw float32) or .npz (named arrays); a new file "
                             "unless --force")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args: argparse.Namespace) -> int:
    """Read the model, write it in the native format, and say what was written.

    Args:
        args: parsed ``convert`` arguments.

    Returns:
        0 on success (usage errors raise :class:`UsageError`).
    """
    from factormap.engine.model import save_model

    if not args.output.lower().endswith(OUTPUT_SUFFIXES):
        raise UsageError(f"-o {args.output}: the output must end in .bin (raw float32) or .npz")
    out = output_path(args.output, (args.input,), args.force)
    model = load_model_file(args.input)
    save_model(model, out)
    written = {"input": args.input, "output": str(out), "format": out.suffix.lower().lstrip("."),
               "hidden_size": model.H, "parameters": model.n_params, "precision": "float32"}
    if args.json:
        print_json(written)
    else:
        print(f"wrote {out}: H = {model.H}, {model.n_params:,} float32 weights, from {args.input}")
    return 0
