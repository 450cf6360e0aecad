"""The ``?`` screen: every key of the explorer, generated from its bindings."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from factormap.tui.keymap import EXPLORER_BINDINGS
from factormap.tui.screens.explorer_features import FEATURE_COMMANDS
from factormap.tui.screens.explorer_record import PROMPT_COMMANDS

GLOBAL_KEYS: list[Binding] = [
    Binding("tab", "focus_next", "next pane", tooltip="Move the focus to the next pane"),
    Binding("shift+tab", "focus_previous", "previous pane", tooltip="Move the focus to the previous pane"),
    Binding("ctrl+p", "command_palette", "commands", tooltip="Every action, searchable by name"),
    Binding("ctrl+c", "quit", "quit", tooltip="Quit, even during background work"),
]
"""Keys the app and Textual provide on every screen."""
GOTO_COMMAND = ("123", "go to position 123 (1,234 and 1_234 read as 1234)")
"""The ``:`` prompt's one form without a word: a position."""
QUIT_KEY = Binding("q", "app.quit", "quit", tooltip="Quit the app, from any screen (ctrl+c too)", id="quit")
"""``q`` on the screens opened over the explorer: it quits whatever runs, as on the explorer."""


def key_label(binding: Binding) -> str:
    """How a binding's keys are written in the help (``h, ←`` rather than ``h,left``)."""
    if binding.key_display:
        return binding.key_display
    names = {"left": "←", "right": "→", "space": "space", "pagedown": "PgDn", "pageup": "PgUp"}
    return ", ".join(names.get(k, k.replace("ctrl+", "ctrl-")) for k in binding.key.split(","))


def _two_columns(first: str) -> Table:
    """An empty table of the help: ``first`` (keys or commands, never wrapped), and what it does."""
    table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
    table.add_column(first, no_wrap=True, style="bold")
    table.add_column("what it does", ratio=1)
    return table


def prompt_table() -> Table:
    """Every command of the explorer's ``:`` prompt (the words it runs, and a position), with what
    it does: the same words the prompt and the command palette take."""
    table = _two_columns("after :")
    for word, does in (GOTO_COMMAND, *PROMPT_COMMANDS.items(), *FEATURE_COMMANDS.items()):
        table.add_row(f":{word}", does)
    return table


def key_table(bindings: list[Binding]) -> Table:
    """A two-column table: key, and what it does (the tooltip, or the description)."""
    table = _two_columns("key")
    digits = [b for b in bindings if b.action.startswith("digit(")]
    for binding in bindings:
        if binding in digits[1:]:
            continue
        if binding is (digits[0] if digits else None):
            table.add_row("0–9", "count prefix (10l); 0 alone: line start; 1–9 toggle intervention N "
                                 "when the interventions pane has focus (iN from any pane)")
            continue
        table.add_row(key_label(binding), binding.tooltip or binding.description)
    return table


class HelpScreen(ModalScreen[None]):
    """A scrollable table of the explorer's keys, then each pane's own; escape or ? closes it, q quits."""

    BINDINGS = [Binding("escape,question_mark", "app.pop_screen", "close", id="help-close"), QUIT_KEY]

    def __init__(self, panes: list[tuple[str, list[Binding]]] | None = None) -> None:
        """Args:
            panes: (title, bindings) of each pane whose keys work while it has the focus.
        """
        super().__init__()
        self.panes = panes or []

    def compose(self) -> ComposeResult:
        """The tables of keys inside a scrolling frame."""
        with VerticalScroll(id="help-frame") as frame:
            frame.border_title = "keys  (escape closes, q quits)"
            yield Static(key_table(EXPLORER_BINDINGS + GLOBAL_KEYS), id="help-table")
            yield Static("\n[b]the : prompt[/b] (: then a command; enter runs it, escape closes it)")
            yield Static(prompt_table(), id="help-prompt-table")
            for title, bindings in self.panes:
                yield Static(f"\n[b]{title}[/b] (while it has the focus)")
                yield Static(key_table(bindings), classes="help-pane-table")
