"""What the pane tests share: a one-widget app and a wait that tolerates cancelled workers."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerFailed

PANE_TEXT = b"The quick brown fox\tjumps over the lazy dog.\n" * 8
"""A small text with a tab, newlines and repeated words."""


class PaneApp(App):
    """An app that mounts just one widget, filling the screen."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def wait_for_workers(pilot, rounds: int = 3) -> None:
    """Wait until every worker is done and the messages they caused are handled.

    A worker cancelled by a newer exclusive one makes ``wait_for_complete`` raise; that is expected here.
    """
    for _ in range(rounds):
        for worker in list(pilot.app.workers):
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass
        await pilot.pause()
