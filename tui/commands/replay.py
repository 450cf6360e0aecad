"""``factormap-tui replay SESSION.jsonl``: recompute, headless, every figure a recorded session showed.

The model and text are the files the record names (``--model`` / ``--text`` give other copies of
them); a file whose sha256 differs from the record's is refused in one line. ``--at N`` stops after
N actions; ``--open`` steps through the actions in the app instead (``>`` applies the next one).
The figures are those of :func:`factormap.engine.replay.replay`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from factormap.tui.commands.common import UsageError, load_inputs, one_line, print_json, whole_number
from factormap.tui.fields import compact, stored
from factormap.tui.glyphs import byte_label


SHA_SHOWN = 16
"""Hex digits of an input's sha256 the table shows: enough to tell files apart, short enough for 80 columns."""

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``replay``."""
    parser.add_argument("session", help="a session record (.jsonl) written by factormap-tui --record or :record")
    parser.add_argument("--at", type=whole_number(0), default=None, metavar="N",
                        help="stop after the first N actions")
    parser.add_argument("--model", default=None, help="the model file, if not at the path the record names")
    parser.add_argument("--text", default=None, help="the text file, if not at the path the record names")
    parser.add_argument("--open", action="store_true", help="step through the actions in the app (> for the next)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def checked_inputs(args: argparse.Namespace):
    """The record and the paths of its model and text, refused in one line if they are not its files."""
    from factormap.engine.session_record import InputMismatch, RecordError, check_inputs, file_identity, read_record

    try:
        record = read_record(args.session)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    paths = []
    for what, given, recorded in (("model", args.model, record.model), ("text", args.text, record.text)):
        path = Path(given if given is not None else recorded.path)
        if not path.exists():
            raise UsageError(f"the {what} file {path} is not there; give its copy with --{what} PATH")
        if not path.is_file():
            raise UsageError(f"the {what} {path} is not a regular file")
        paths.append(path)
    try:
        check_inputs(record, file_identity(paths[0]), file_identity(paths[1]))
    except InputMismatch as exc:
        raise UsageError(str(exc)) from None
    return record, paths[0], paths[1]


def run(args: argparse.Namespace) -> int:
    """Replay the record and print its figures (rich tables, or JSON with ``--json``)."""
    record, model_path, text_path = checked_inputs(args)
    actions = record.actions if args.at is None else record.actions[:args.at]
    if args.open:
        from factormap.tui.launch import launch

        return launch(str(model_path), str(text_path), replay=actions, precision=record.header["precision"])
    from factormap.engine.replay import replay

    # the widest precision the session uses: float32 parts are rounded from it as loading would
    precisions = {record.header["precision"]} | {a["precision"] for a in actions if a["action"] == "precision"}
    model, text = load_inputs(str(model_path), str(text_path), "float64" if "float64" in precisions else "float32")
    result = replay(model, text, record, at=args.at)
    recorded = {k: record.header[k] for k in ("tool", "created", "model", "text", "precision")}
    data = {"session": str(args.session), "recorded": recorded | {"max_offset": record.header["K"]},
            "actions": {"recorded": len(record.actions), "replayed": len(actions)}} | result.to_dict()
    if args.json:
        print_json(data)
    else:
        print_tables(data)
    return 0


def position_line(figures: dict) -> str:
    """One line of a position's figures: the byte, its bits, the prediction and where its gradient is."""
    line = f"t={figures['t']:,} {byte_label(figures['byte'])}"
    att = figures.get("attribution")
    if att is None:  # the last byte, or an attribution the replay cannot give (its note says so)
        return line if "note" in figures else line + "  (last byte: no prediction)"
    k = max(range(len(att["grad_norm"])), key=lambda i: att["grad_norm"][i])
    neurons = " ".join(f"h{n['neuron']} {n['share']:.0%}" for n in att["top_neurons_by_energy"][:3])
    a = byte_label(att["target"])
    quantity = (f"predicts {a} p={compact(att['prob'])}" if att.get("contrast") is None else
                f"attributes ln p({a}) − ln p({byte_label(att['contrast'])}) = {compact(att['value'], signed=True)} "
                f"nats (p={compact(att['prob'])}, {compact(att['contrast_prob'])})")
    line += (f"  {stored(figures['bits'])} bits  {quantity}  max ‖g_k‖ {compact(att['grad_norm'][k])} at k={k}  "
             f"{neurons}")
    deltas = figures.get("delta_bits_at_t") or {}
    if deltas:
        line += "  Δbits@t " + " ".join(f"#{int(row) + 1} {stored(d, signed=True)}" for row, d in deltas.items())
    return line


def edit_line(edit: dict) -> str:
    """One line of an edit's figures: ΔBPC, band, null percentile and residual r."""
    if "error" in edit:
        return f"#{edit['row'] + 1} {edit['name']}: error: {edit['error']}"
    line = f"#{edit['row'] + 1} {edit['name']}: ΔBPC {stored(edit['delta_bpc'], signed=True, decimals=4)}"
    if edit["band"] is not None:
        band = edit["band"]
        line += f"  band [{stored(band['min'], signed=True, decimals=4)}, {stored(band['max'], signed=True, decimals=4)}]"
    if edit["null"] is not None:
        null = edit["null"]
        line += f"  null percentile {stored(edit['null_percentile'], decimals=0)} (z {stored(null['z'], signed=True)}, N={null['null_n']})"
    else:
        line += f"  {edit['null_note']}"
    if "residual" in edit:
        line += f"  residual r({edit['residual']['feature']}) {stored(edit['residual']['r'])}"
    return line


def step_lines(step: dict) -> list[str]:
    """What one replayed action showed, as lines."""
    figures = step["figures"]
    if "attribution" in figures:
        return [position_line(figures)] + ([figures["note"]] if "note" in figures else [])
    lines = [edit_line(edit) for edit in figures.get("edits", [])]
    if "position" in figures:
        lines.insert(0, position_line(figures["position"]))
    if figures.get("combined_delta_bpc") is not None:
        lines.append(f"all on together: ΔBPC {stored(figures['combined_delta_bpc'], signed=True, decimals=4)}")
    if "traces" in figures:
        lines.append("  ".join(f"h{j} {compact(v, signed=True)}" for j, v in figures["traces"].items()))
    if "feature" in figures:
        f = figures["feature"]
        lines.append(f"feature {f['name']}: best unit h{f['best_neuron']} r {stored(f['best_r'], signed=True)}  "
                     f"r(h·u_{f['name']}) {stored(f['cov_r'])}  OLS r {stored(f['ols_r'])}")
    if "note" in figures:
        lines.append(figures["note"])
    return lines


def print_tables(data: dict) -> None:
    """The replay as rich tables: the inputs, every action with what it showed, the final state."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    recorded = data["recorded"]
    inputs = Table(title=Text(one_line(f"replay of {data['session']}: {data['actions']['replayed']} of "
                                       f"{data['actions']['recorded']} actions")), show_header=True)
    for column in ("input", "name", "bytes"):
        inputs.add_column(column, justify="right" if column == "bytes" else "left")
    inputs.add_column(f"sha256 (first {SHA_SHOWN})", no_wrap=True)
    for what in ("model", "text"):
        inputs.add_row(what, Text(one_line(recorded[what]["name"])), f"{recorded[what]['bytes']:,}",
                       recorded[what]["sha256"][:SHA_SHOWN])
    console.print(inputs)
    console.print(Text(one_line(f"recorded with {recorded['tool']['name']} {recorded['tool']['version']} at "
                                f"{recorded['created']}, {recorded['precision']}, attribution K={recorded['max_offset']}")))
    steps = Table(title="what each action showed")
    steps.add_column("i", justify="right")
    steps.add_column("action")
    steps.add_column("figures")
    steps.add_row("0", "start", Text(position_line(data["start"])))
    for step in data["steps"]:
        fields = " ".join(f"{k}={v}" for k, v in step["fields"].items())
        steps.add_row(str(step["i"]), Text(one_line(f"{step['action']} {fields}")),
                      Text("\n".join(step_lines(step)) or "–"))
    console.print(steps)
    final = data["final"]
    console.print(Text("at the end: " + position_line(final["position"]), style="bold"))
    for edit in final["edits"]:
        console.print(Text("  " + edit_line(edit)))
    if final["combined_delta_bpc"] is not None:
        console.print(Text(f"  all on together: ΔBPC {stored(final['combined_delta_bpc'], signed=True, decimals=4)}"))
