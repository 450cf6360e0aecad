"""The ``factormap-tui`` command: open the app, or run a headless sub-command.

``factormap-tui`` alone opens the demo; ``factormap-tui MODEL TEXT`` opens your files;
``factormap-tui COMMAND ...`` runs one of :data:`factormap.tui.commands.COMMANDS`.
Usage errors print one line on stderr and exit with status 2; the engine's documented errors met
later, and running out of memory, print one line and exit with status 1; Ctrl-C exits with 130.
"""

from __future__ import annotations

import importlib
import os
import sys

from factormap.tui.commands import COMMANDS
from factormap.tui.commands.common import PROG, Parser, UsageError, add_precision_argument, one_line
from factormap.tui.interrupts import raise_lost_interrupts


def _command_parser(name: str):
    module = importlib.import_module(f"factormap.tui.commands.{COMMANDS[name][0]}")
    parser = Parser(prog=f"{PROG} {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    return parser, module


def _open_parser() -> Parser:
    commands = "\n".join(f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items())
    parser = Parser(
        prog=PROG,
        description="Explore a character-level RNN language model in the terminal.",
        epilog=f"commands (factormap-tui COMMAND --help):\n{commands}",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", nargs="?",
                        help="model file (.bin, .npz, torch .pt/.pth or .safetensors); omit both to open the demo")
    parser.add_argument("text", nargs="?", help="text file to step through")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    add_precision_argument(parser)
    parser.add_argument("--record", metavar="SESSION.jsonl", default=None,
                        help="write every action to this new session record (replay it: factormap-tui replay)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    raise_lost_interrupts()  # Ctrl-C during a numba compile (see factormap.tui.interrupts)
    try:
        if argv and argv[0] in COMMANDS:
            parser, module = _command_parser(argv[0])
            status = int(module.run(parser.parse_args(argv[1:])) or 0)
            sys.stdout.flush()  # a closed pipe must fail here, inside the handlers, not at exit
            return status
        if argv and _looks_like_a_command(argv[0]):
            raise UsageError(f"unknown command {argv[0]!r} (commands: {', '.join(COMMANDS)}; "
                             f"or give MODEL TEXT, or nothing for the demo)")
        args = _open_parser().parse_args(argv)
        if args.version:
            print(f"{PROG} {_version()}")
            return 0
        if (args.model is None) != (args.text is None):
            raise UsageError("give both MODEL and TEXT, or neither to open the demo")
        from factormap.tui.launch import launch

        return launch(args.model, args.text, record=args.record, precision=args.precision)
    except UsageError as exc:
        print(f"{PROG}: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except MemoryError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "the computation needs more than is available"
        print(f"{PROG}: error: out of memory: {one_line(detail)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Python flushes stdout once more at exit; a closed pipe would print a traceback there.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if not _is_engine_error(exc):
            raise
        print(f"{PROG}: error: {one_line(str(exc))}", file=sys.stderr)
        return 1


def _looks_like_a_command(word: str) -> bool:
    """True for a first argument that is a bare word naming no file: a mistyped command, not a model."""
    return not word.startswith("-") and word.replace("-", "_").isidentifier() and not os.path.exists(word)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("factormap-tui")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _is_engine_error(exc: Exception) -> bool:
    """True for the engine's documented one-sentence errors found after start-up (exit status 1)."""
    errors = sys.modules.get("factormap.engine.errors")  # not imported yet: cannot be one of them
    return errors is not None and isinstance(exc, errors.FactormapError)


if __name__ == "__main__":
    sys.exit(main())
