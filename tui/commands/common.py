"""What the headless commands share: argument parsing that fails in one line, input loading."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from factormap.engine.model import Model
    from factormap.tui.opening import ModelFile

# The engine (numpy, numba) is imported inside the functions that need it, so that importing the
# command line is instant and a Ctrl-C during start-up already lands in cli.main's handler.

PROG = "factormap-tui"


class UsageError(Exception):
    """A problem with the command line or its input files: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2, never a traceback."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def whole_number(least: int = 0, most: int | None = None):
    """An argparse ``type``: a whole number in ``least..most``, else a one-line usage error.

    Args:
        least: the smallest value accepted.
        most: the largest value accepted (None: no bound).
    """
    def parse(value: str) -> int:
        shown = repr(value if len(value) <= 40 else value[:37] + "...")  # a 1000-digit value stays one short line
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {shown}") from None
        if number < least or (most is not None and number > most):
            bounds = f"in {least:,}..{most:,}" if most is not None else f"of {least:,} or more"
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {shown}")
        return number

    return parse


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a folder on the way that we may not search
        return False


def looks_like_model(path: Path) -> bool:
    """True if ``path`` loads as a model (used to detect model and text given in swapped order)."""
    from factormap.engine.errors import FactormapError
    from factormap.engine.model import load_model

    try:
        load_model(path)
    except (FactormapError, OSError):
        return False
    return True


#: ``--precision`` choices: the float type every figure is computed in.
PRECISIONS = ("float32", "float64")


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision float32|float64`` (float64: the weights as given, figures in the float64 kernels).

    Args:
        parser: the command's parser.
    """
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="compute in float32 (default, fast) or float64 (the weights as given, exact kernels)")


def load_model_file(model_path: str, precision: str = "float32") -> Model:
    """Load a model (its arrays in ``precision``); a documented problem becomes a :class:`UsageError`.

    Args:
        model_path: the model file, in any format :func:`factormap.engine.model.load_model` reads.
        precision: one of :data:`PRECISIONS`.
    """
    import numpy as np

    from factormap.engine.errors import FactormapError
    from factormap.engine.model import load_model

    try:
        return load_model(model_path, np.dtype(precision))
    except FactormapError as exc:
        raise UsageError(str(exc)) from None


def load_inputs(model_path: str, text_path: str, precision: str = "float32", *,
                defer_bin: bool = False) -> tuple[Model | ModelFile, bytes]:
    """Load the model (its arrays in ``precision``) and the text, turning every documented
    problem into a :class:`UsageError`.

    With ``defer_bin``, a raw `.bin` model is checked without numpy (every check the loader makes,
    :func:`~factormap.engine.bin_format.check_bin_model`) and returned as a
    :class:`~factormap.tui.opening.ModelFile` that loads it later: the explorer's first frame does
    not wait for numpy. Other formats are loaded at once.
    """
    from factormap.engine.errors import FactormapError
    from factormap.engine.text import load_text

    mp, tp = Path(model_path), Path(text_path)
    try:
        model = _checked_bin(mp, precision) if defer_bin else None
        if model is None:
            import numpy as np

            from factormap.engine.model import load_model

            model = load_model(mp, np.dtype(precision))
    except FactormapError as exc:
        if _is_file(tp) and _is_file(mp) and looks_like_model(tp):
            raise UsageError(f"the arguments look swapped: {tp} is a model and {mp} is not; "
                             f"the order is MODEL TEXT") from None
        raise UsageError(str(exc)) from None
    try:
        text = load_text(tp)
    except FactormapError as exc:
        raise UsageError(str(exc)) from None
    return model, text


def _checked_bin(path: Path, precision: str) -> ModelFile | None:
    """``path`` checked as a raw `.bin` model, to be loaded later; None for any other format."""
    from factormap.engine.bin_format import check_bin_model, reads_as_raw_bin
    from factormap.tui.opening import ModelFile

    return ModelFile(path, check_bin_model(path), precision) if reads_as_raw_bin(path) else None


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    """``--force``: let ``-o`` replace a file that exists (without it, :func:`output_path` refuses).

    Args:
        parser: the command's parser.
    """
    parser.add_argument("--force", action="store_true", help="replace the -o file if it exists")


def output_path(output: str, inputs: tuple[str, ...], force: bool = False) -> Path:
    """The ``-o`` path, refused if it is one of ``inputs``, cannot take a regular file
    (:func:`factormap.engine.output.check_output`: a directory, a device, a read-only folder...), or
    exists (a regular file, or a symlink) and ``force`` is false.

    Args:
        output: the path given to ``-o``.
        inputs: the command's input files, which an output must never replace.
        force: replace an existing file (``--force``).
    """
    from factormap.engine.errors import OutputError
    from factormap.engine.output import check_output

    out = Path(output)
    for name in inputs:
        src = Path(name)
        if out.resolve() == src.resolve() or (out.exists() and src.exists() and out.samefile(src)):
            raise UsageError(f"-o {output} is an input file; choose another output path")
    try:
        checked = check_output(out)
    except OutputError as exc:
        raise UsageError(f"-o {exc}") from None
    if not force and (checked.exists() or checked.is_symlink()):
        raise UsageError(f"-o {output} exists; give --force to replace it")
    return checked


def stderr_progress(*columns):
    """A transient rich progress display on stderr, drawn only where stderr is a terminal.

    Elsewhere (a pipe, a file) rich still writes a newline when the display stops, and that blank
    line would come before an error line; disabled, it writes nothing.

    Args:
        *columns: rich progress columns (rich's default set when none).
    """
    from rich.console import Console
    from rich.progress import Progress

    err = Console(file=sys.stderr)
    return Progress(*columns, console=err, transient=True, disable=not err.is_terminal)


def print_json(data) -> None:
    """Print ``data`` as indented JSON on stdout, in the convention of :mod:`factormap.tui.json_form`."""
    from factormap.tui.json_form import json_ready  # imports numpy: not at start-up

    json.dump(json_ready(data), sys.stdout, indent=2)
    sys.stdout.write("\n")


def one_line(message: str) -> str:
    """``message`` safe to print as one terminal line: control characters (a newline or an escape
    sequence in a file name) become visible escapes instead of moving the cursor or recolouring."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)



def marked_context(before: str, byte: str, after: str):
    """A byte string's ``before`` ‖ ``byte`` ‖ ``after`` (JSON strings of one character per byte) as
    a rich Text: the byte bold and reversed, and between ‖ marks that keep it visible where styles
    are lost (a pipe, NO_COLOR); an empty byte shows as ∅."""
    from rich.text import Text

    from factormap.tui.glyphs import escaped

    text = Text(escaped(before.encode("latin-1")) + "‖", style="dim")
    text.append(escaped(byte.encode("latin-1")) or "∅", style="bold reverse")
    text.append("‖" + escaped(after.encode("latin-1")), style="dim")
    return text
