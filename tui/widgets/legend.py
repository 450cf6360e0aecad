"""The legend under the text pane: what the active lens's colours mean."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from factormap.tui.lenses import LENSES

SHORT_NOTES = {"no intervention active": "no edit active"}
"""Compact forms of the notes the explorer sets, for a legend too narrow for the whole note."""


class Legend(Widget):
    """One line: the lens, its tints with their values, a note and the quantity it shows.

    The lens and its scale always show; the note and the meaning take their longest forms that fit
    the width together (the whole note before the whole meaning), and drop out whole, never cut.

    Attributes:
        lens: the active lens's name.
        neuron: the selected neuron (named when the activation lens is active).
        note: a short remark after the scale (e.g. "no intervention active").
    """

    DEFAULT_CSS = """
    Legend { height: 1; width: 1fr; }
    """

    lens: reactive[str] = reactive("surprisal")
    neuron: reactive[int] = reactive(0)
    note: reactive[str] = reactive("")

    def render(self) -> Text:
        """The lens title, its scale as tinted chips with their unit, and the longest note and meaning
        that fit; where even the title and the scale do not fit, the title (also on the pane's border)
        drops out, then the chips narrow to 3 cells, then to one blank beside their label, so that
        the scale always shows whole, with its unit."""
        lens = LENSES[self.lens]
        title = f"neuron {self.neuron} activation" if lens.name == "activation" else lens.title
        notes = [self.note, SHORT_NOTES.get(self.note, self.note)] if self.note else [""]
        meanings = [lens.meaning, *lens.briefs]
        choices = [(n, m) for n in dict.fromkeys(notes) for m in meanings]
        choices += [(notes[-1], ""), ("", meanings[-1]), ("", "")]
        for head, chip in ((f" {title} ", 4), (" ", 4), (" ", 3), (" ", 0)):
            scale = Text(head, style="bold")
            for style, label in zip(lens.styles, lens.labels):
                scale.append(f"{label:^{chip}}" if chip else f"{label} ", style=style)
            if lens.unit:  # after the last chip's blank, if it has one
                scale.append(f"{'' if scale.plain.endswith(' ') else ' '}{lens.unit}")
            for note, meaning in choices:
                line = scale.copy()
                if note:
                    line.append(f" {note}", style="italic")
                if meaning:
                    line.append(f"  {meaning}", style="dim")
                if line.cell_len <= self.size.width:
                    return line
        return line
