"""The command palette the app opens (ctrl+p): Textual's, with page keys that wait for the list."""

from __future__ import annotations

from textual.command import CommandPalette


class FactormapPalette(CommandPalette):
    """Textual's command palette, whose pageup/pagedown do nothing until its list has been drawn.

    Textual's OptionList pages from the line map of its last layout; pageup pressed right after
    ctrl+p (in one burst, before the list was laid out) raised ``KeyError: 0`` and ended the app
    (found by tests/test_monkey.py with Textual 8.2).
    """

    def _action_command_list(self, action: str) -> None:
        try:
            super()._action_command_list(action)
        except KeyError:
            if not action.startswith("page_"):
                raise
