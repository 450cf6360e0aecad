"""The legend under the text pane: what the active lens's colours mean."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from factormap.tui.lenses import LENSES


class Legend(Widget):
    """One line: the lens, the quantity it shows, and its tints with their values.

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
        """The lens title, its scale as tinted chips, and the note."""
        lens = LENSES[self.lens]
        title = f"neuron {self.neuron} activation" if lens.name == "activation" else lens.title
        out = Text()
        out.append(f" {title} ", style="bold")
        for style, label in zip(lens.styles, lens.labels):
            out.append(f"{label:^4}", style=style)
        if self.note:
            out.append(f" {self.note}", style="italic")
        out.append(f"  {lens.meaning}", style="dim")
        return out
