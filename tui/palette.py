"""The command palette's provider of the explorer's key actions (ctrl+p reaches every action)."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from factormap.tui.keymap import EXPLORER_BINDINGS
from factormap.tui.screens.explorer_features import FEATURE_COMMANDS
from factormap.tui.screens.explorer_record import PROMPT_COMMANDS
from factormap.tui.screens.help import key_label
from factormap.tui.widgets.intervention_rows import ROWS


class KeyActions(Provider):
    """Every explorer binding as a command, named by its tooltip and showing its key, and every
    word of the ``:`` prompt (``:write``, ``:target``...), which opens the prompt with it typed."""

    def _commands(self):
        for binding in EXPLORER_BINDINGS:
            # digits are counts; Textual's own palette entry already quits
            if binding.action.startswith(("digit(", "prefix('i')")) or binding.id == "quit":
                continue
            yield binding.tooltip or binding.description, f"key: {key_label(binding)}", binding.action
        for row, edit in enumerate(ROWS, start=1):
            yield (f"Toggle intervention {row}: {edit.name.format(neuron='j')}",
                   f"key: i{row} (or {row} in the interventions pane)", f"toggle_intervention({row - 1})")
        for word, does in {**PROMPT_COMMANDS, **FEATURE_COMMANDS}.items():
            yield f":{word} {does}", f"type: :{word}", f"prompt(':', {word + ' '!r})"

    async def _run(self, action: str) -> None:
        screen = self.screen
        if hasattr(screen, "run_command"):  # the explorer: where every completed command goes through
            await screen.run_command(action, screen)
        else:
            await screen.run_action(action)

    async def discover(self) -> Hits:
        """All commands, before anything is typed."""
        for display, help_, action in self._commands():
            yield DiscoveryHit(Text(display), partial(self._run, action), help=help_)

    async def search(self, query: str) -> Hits:
        """Commands whose title matches what was typed."""
        matcher = self.matcher(query)
        words = query.strip().lstrip(":").split()
        typed = f":{words[0]} " if words else None
        for display, help_, action in self._commands():
            score = matcher.match(display)
            if typed is not None and display.startswith(typed):
                score *= 2  # a : command's word typed whole comes first: the ':' prompt's entry names them all too
            if score > 0:  # highlight() reads markup: "h[j]" must stay text
                yield Hit(score, matcher.highlight(escape(display)), partial(self._run, action), text=display,
                          help=help_)
