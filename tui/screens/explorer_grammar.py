"""The explorer's key grammar: every key, in the order it arrived, extends or completes one command.

A terminal hands over the keys of one read (typed fast, pasted, or over a slow link) as events in a
row. Textual forwards each to the focused widget and resolves bindings only once the key has
bubbled back up to the app, so a key could be looked at before the command of the key before it had
run: ``gg`` left ``g`` pending, ``mq`` quit, ``/jav`` moved the neuron instead of searching. The app
hands every key to :meth:`KeyGrammar.feed_key` as it arrives instead (see
:meth:`factormap.tui.app.FactormapApp.on_event`), and the grammar's state changes before the next
key is read. Its states:

- **prompt**: after ``/`` or ``:``, keys edit the prompt line; enter (or ctrl+j) runs it, escape closes it;
- **prefix**: after ``g``, ``m``, ``'`` (:data:`factormap.tui.keymap.PREFIX_KEYS`), the next key
  completes the command (``gg``, ``ma``, ``'a``); anything else cancels it;
- **count**: digits pending before a command (``100l``); a key that is no command drops them;
- otherwise the key runs the binding the focused pane, the screen or the app gives it.

Every completed binding goes through :meth:`KeyGrammar.run_command`.
"""

from __future__ import annotations

import string

from textual import events
from textual.widgets import Input

SUBMIT_KEYS = ("enter", "ctrl+j")
"""Keys that run the open prompt. A terminal still in cooked mode (keys typed before the app's first
frame) translates Enter's CR to LF, which Textual reads as ctrl+j; vim's command line takes it too."""


class KeyGrammar:
    """The key state machine (mixed into ExplorerScreen, which holds ``pending`` and the prompt)."""

    async def feed_key(self, event: events.Key) -> bool:
        """Take one key as it arrives; False leaves it to Textual.

        Textual keeps the priority bindings (ctrl+c quits from any state) and keys that no binding
        names (they go to the focused widget, as usual).

        Args:
            event: the key, not yet forwarded to any widget.
        """
        active = self.active_bindings.get(event.key)
        if active is not None and active.binding.priority:
            return False
        prompt = self.query_one("#prompt", Input)
        if not prompt.has_class("-hidden"):
            await self._edit_prompt(prompt, event)
            return True
        prefix = self.pending.lstrip(string.digits)
        if prefix:
            self.complete_prefix(prefix, event.character or "")
            return True
        if active is None:
            self.pending = ""
            return False
        if active.enabled:
            await self.run_command(active.binding.action, active.node)
        return True

    async def run_command(self, action: str, namespace) -> None:
        """Run a completed command: ``action`` (a binding's action string) on ``namespace``."""
        await self.app.run_action(action, namespace)

    async def _edit_prompt(self, prompt: Input, event: events.Key) -> None:
        """One key typed into the open prompt (it has the focus, so its own bindings come first)."""
        if event.key in SUBMIT_KEYS:
            kind, value = self._prompt_kind, prompt.value
            self._close_prompt()
            self.submit_prompt(kind, value)
        elif event.key == "escape":
            self._close_prompt()
        elif event.is_printable:
            if prompt.selection.is_empty:
                prompt.insert_text_at_cursor(event.character)
            else:
                prompt.replace(event.character, *prompt.selection)
        else:
            active = self.active_bindings.get(event.key)
            if active is not None and active.node is prompt and active.enabled:
                await self.run_command(active.binding.action, prompt)
