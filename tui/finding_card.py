"""The finding card: one Markdown file that says what was found, on which files, and how to see it again.

:func:`card_markdown` lays out figures the explorer gathered (:func:`card_paths` names the three
files a card is: ``NAME.md``, the screen beside it as ``NAME.svg``, and ``NAME.jsonl``, a session
record that replays to the state shown). Numbers are those on the screen at the moment of writing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from factormap.engine.session_record import FileIdentity
from factormap.engine.workbench.nulls import NULL_N
from factormap.tui.fields import compact, fixed, stored
from factormap.tui.glyphs import byte_label


@dataclass(frozen=True)
class CardEdit:
    """One active edit as its row showed it.

    Attributes:
        row: its row (0-based) in the interventions pane.
        key: the research edit's key (:mod:`factormap.engine.interventions.table`).
        name: the row's label.
        describe: the engine spec's one-line description.
        delta_bpc: whole-text mean of ``bits'_t - bits_t`` (None while it was still running).
        band: (min, max) of the sensitivity band (None: none computed).
        null_percentile: percentile of ΔBPC among the edit's matched null (None: not shown).
        delta_at_t: ``bits'_t - bits_t`` at the cursor (None: not known yet).
    """

    row: int
    key: str
    name: str
    describe: str
    delta_bpc: float | None
    band: tuple[float, float] | None
    null_percentile: float | None
    delta_at_t: float | None


@dataclass(frozen=True)
class CardPosition:
    """The figures of the cursor's position.

    Attributes:
        t: the position.
        byte: ``x_t``.
        bits: ``-log2 p_t(x_{t+1})``, the bits of the byte that comes next (None at the last byte).
        target: the byte whose prediction is attributed, ``x_{t+1}`` unless ``:target`` chose
            another (None: no attribution).
        prob: ``p_t(target)``.
        top: the five most probable next bytes with their probabilities.
        grad_norm_max: ``max_k ||g_k||`` and its k, ``g_k = d value / d h_{t-k}``.
        top_neurons: units with the largest ``sum_k g_{k,j}^2`` and their share of the total.
        contrast: the byte b of a contrast ``ln p_t(target) - ln p_t(b)`` (None: ``ln p_t(target)``).
        contrast_prob: ``p_t(contrast)``.
        value: the attributed quantity, in nats: ``ln p_t(target)``, minus ``ln p_t(contrast)``
            for a contrast.
        target_bits: ``-log2 p_t(target)``.
    """

    t: int
    byte: int
    bits: float | None
    target: int | None = None
    prob: float | None = None
    top: list[tuple[int, float]] = field(default_factory=list)
    grad_norm_max: tuple[float, int] | None = None
    top_neurons: list[tuple[int, float]] = field(default_factory=list)
    contrast: int | None = None
    contrast_prob: float | None = None
    value: float | None = None
    target_bits: float | None = None

    @property
    def quantity(self) -> str:
        """What the attribution differentiates, with the bytes named: ``ln p('e') − ln p('a')``."""
        name = f"ln p({byte_label(self.target)})"
        return name if self.contrast is None else f"{name} − ln p({byte_label(self.contrast)})"


def card_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """The card's Markdown file, its screen (SVG) and its session record, from the name given."""
    path = Path(path)
    md = path if path.suffix.lower() == ".md" else path.with_name(path.name + ".md")
    return md, md.with_suffix(".svg"), md.with_suffix(".jsonl")


def _inputs_table(model: FileIdentity, text: FileIdentity) -> list[str]:
    lines = ["| input | file | bytes | sha256 |", "|---|---|---:|---|"]
    for what, ident in (("model", model), ("text", text)):
        lines.append(f"| {what} | `{ident.name}` | {ident.bytes:,} | `{ident.sha256}` |")
    return lines


def _edits_table(edits: list[CardEdit], combined: float | None) -> list[str]:
    if not edits:
        return ["No edit is active."]
    lines = ["| # | edit | ΔBPC | band | null percentile | Δbits at t |", "|---:|---|---:|---|---:|---:|"]
    for e in edits:
        band = (f"[{fixed(e.band[0], 4, signed=True)}, {fixed(e.band[1], 4, signed=True)}]"
                if e.band is not None else "–")
        null = stored(e.null_percentile, decimals=0) if e.null_percentile is not None else "null: not available"
        lines.append(f"| {e.row + 1} | {e.name}: {e.describe} | {stored(e.delta_bpc, signed=True, decimals=4)} | "
                     f"{band} | {null} | {stored(e.delta_at_t, signed=True)} |")
    if combined is not None:
        lines += ["", f"All {len(edits)} together: ΔBPC {stored(combined, signed=True, decimals=4)}."]
    return lines + ["", "ΔBPC: the whole-text mean of bits′_t − bits_t. Band: the least and greatest ΔBPC "
                        "with the edit's directions nudged (edits that feed the recurrence). Null percentile: "
                        f"where ΔBPC falls among the same edit along {NULL_N} seeded random unit directions."]


def _position_lines(p: CardPosition) -> list[str]:
    lines = [f"- position t = {p.t:,}, byte {byte_label(p.byte)}"]
    if p.bits is None:
        lines.append("- the last byte: there is no next byte to predict")
    if p.target is None:
        return lines
    attributed = f"- attributed: {p.quantity} = {compact(p.value, signed=True)} nats, with p = {compact(p.prob)} " \
                 f"for {byte_label(p.target)} ({stored(p.target_bits)} bits)"
    if p.contrast is not None:
        attributed += f" and p = {compact(p.contrast_prob)} for {byte_label(p.contrast)}"
    lines.append(attributed)
    if p.bits is not None:
        lines.append(f"- the next byte: {stored(p.bits)} bits")
    lines.append("- top-5: " + ", ".join(f"{byte_label(b)} {compact(q)}" for b, q in p.top))
    if p.grad_norm_max is not None:
        value, k = p.grad_norm_max
        lines.append(f"- largest ‖g_k‖ = ‖∂ ({p.quantity})/∂h(t−k)‖: {compact(value)} at k = {k}")
    if p.top_neurons:
        lines.append("- neurons with the most gradient energy Σ_k g²: "
                     + ", ".join(f"h{j} {share:.1%}" for j, share in p.top_neurons))
    return lines


def card_markdown(*, model: FileIdentity, text: FileIdentity, tool_version: str, precision: str,
                  position: CardPosition, edits: list[CardEdit], combined: float | None, svg_name: str,
                  record_name: str, record_at: tuple[str, int] | None = None) -> str:
    """The card's Markdown.

    Args:
        model: the model file.
        text: the text file.
        tool_version: factormap-tui's version.
        precision: the dtype the figures were computed in.
        position: the cursor's figures.
        edits: the active edits, in row order.
        combined: ΔBPC of every active edit together (None unless two or more).
        svg_name: the file name of the screen's SVG, beside the card.
        record_name: the file name of the card's session record, beside the card.
        record_at: (path, N) of the session being recorded, whose first N actions lead here too.
    """
    title = f"# Finding: `{model.name}` on `{text.name}` at t = {position.t:,}"
    replay = f"factormap-tui replay {shlex.quote(record_name)}"
    lines = [title, "", f"factormap-tui {tool_version}, figures in {precision}.", "", *_inputs_table(model, text),
             "", "## Active edits", "", *_edits_table(edits, combined), "",
             "## The current position", "", *_position_lines(position), "",
             "## The screen", "", f"![the explorer's screen]({svg_name})", "",
             "## Reproduce", "", "From this folder, with the model and text at the paths the record names "
             "(or give them with `--model` and `--text`):", "", "```sh",
             f"{replay}          # every figure above, headless (--json for JSON)",
             f"{replay} --open   # the app at the record's start: each > applies one action, up to this state",
             "```"]
    if record_at is not None:
        lines += ["", f"The session it was found in: `factormap-tui replay {shlex.quote(record_at[0])} "
                      f"--at {record_at[1]}`."]
    return "\n".join(lines) + "\n"
