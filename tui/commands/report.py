"""``factormap-tui report MODEL TEXT``: the research's figures for a model on a text.

The report is made of sections, each a module listed in :data:`SECTIONS` that defines::

    add_arguments(parser)               # optional: the section's own options
    compute(session, args, progress) -> dict   # JSON-ready, keys name the quantity
    render(data, console) -> None       # rich tables for people

``--json`` prints ``{section_name: compute(...)}`` and ``precision``, the float type every figure
was computed in (``--precision``); ``--only NAME`` restricts to some sections.
"""

from __future__ import annotations

import argparse
import importlib

from factormap.engine.session import Session
from factormap.tui.commands.common import add_precision_argument, load_inputs, print_json, stderr_progress
from factormap.tui.fields import compact, fixed

#: section name -> module under factormap.tui.commands, in the order they print.
SECTIONS: dict[str, str] = {
    "factor_map": "report_factor_map",
    "attribution": "report_attribution",
    "interventions": "report_interventions",
    "bpc_breakdown": "report_bpc_breakdown",
}


def _modules():
    return {name: importlib.import_module(f"factormap.tui.commands.{mod}") for name, mod in SECTIONS.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``report``, including every section's own."""
    parser.add_argument("model", help="model file (.bin raw float32, .npz, torch .pt/.pth or .safetensors)")
    parser.add_argument("text", help="text file (any bytes)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    add_precision_argument(parser)
    parser.add_argument("--only", action="append", choices=list(SECTIONS), metavar="SECTION",
                        help=f"only these sections ({', '.join(SECTIONS) or 'none yet'}); repeatable")
    for module in _modules().values():
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Compute every chosen section, then print tables or JSON."""
    model, text = load_inputs(args.model, args.text, args.precision)
    session = Session(model, text)
    chosen = {n: m for n, m in _modules().items() if not args.only or n in args.only}
    results = {}
    if args.json:
        for name, module in chosen.items():
            results[name] = module.compute(session, args, None)
        session.close()
        print_json({**results, "precision": args.precision})
        return 0
    console = _report_console()
    with stderr_progress() as bar:
        for name, module in chosen.items():
            task = bar.add_task(name, total=1.0)
            results[name] = module.compute(session, args, lambda f, task=task: bar.update(task, completed=f))
    bpc = session.bpc
    session.close()
    for line in summary_lines(bpc, results):
        console.print(line, markup=False, highlight=False)
    console.print()
    for name, module in chosen.items():
        module.render(results[name], console)
    return 0


def _report_console():
    """A console on which a table's title and caption are printed as lines of the console's width
    (above and below it) rather than wrapped to the table's own width: a narrow table's long caption
    would otherwise wrap every two words."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    class ReportConsole(Console):
        def print(self, *objects, **kwargs) -> None:
            for obj in objects:
                if isinstance(obj, Table) and (obj.title or obj.caption):
                    title, caption = obj.title, obj.caption
                    obj.title = obj.caption = None
                    if title:
                        super().print(title if isinstance(title, Text) else Text.from_markup(str(title), style="bold"))
                    super().print(obj, **kwargs)
                    if caption:
                        super().print(caption if isinstance(caption, Text) else Text.from_markup(str(caption), style="dim"))
                else:
                    super().print(obj, **kwargs)

    return ReportConsole()


def summary_lines(bpc: float, results: dict) -> list[str]:
    """The finding in a few lines, before the tables: the BPC, how well u_wl and u_tag read their
    features out (r of h·u_f with f), and what subtracting u_wl costs at every step (with its
    sensitivity band) against at the readout only; lines whose sections were not run are left out.

    Args:
        bpc: the text's BPC.
        results: each computed section's figures (the keys of :data:`SECTIONS`).
    """
    lines = [f"summary: BPC {fixed(bpc, 4)}"]
    fm = results.get("factor_map", {})
    readouts = [f"r(h·u_{short}, {name}) = {compact(fm[f'{name}.cov_direction.r'])}"
                for name, short in (("word_len", "wl"), ("in_tag", "tag")) if f"{name}.cov_direction.r" in fm]
    if readouts:
        lines.append("  read out: " + ", ".join(readouts))
    iv = results.get("interventions", {})
    step, readout = "subtract_each_step.word_len", "subtract_at_readout.word_len"
    if f"{step}.delta_bpc" in iv and f"{readout}.delta_bpc" in iv:
        band = (f" (band {fixed(iv[f'{step}.band.min'], 4, signed=True)} … "
                f"{fixed(iv[f'{step}.band.max'], 4, signed=True)}, chaotic)"
                if f"{step}.band.min" in iv else "")
        lines.append(f"  ΔBPC removing u_wl at every step: {fixed(iv[f'{step}.delta_bpc'], 4, signed=True)}{band}")
        lines.append(f"  ΔBPC removing u_wl at the readout only: {fixed(iv[f'{readout}.delta_bpc'], 4, signed=True)}")
    return lines
