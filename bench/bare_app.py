"""A bare Textual app, the baseline that start-up and quit figures are printed beside.

It imports only Textual, draws one line carrying the markers the start-up bench waits for (the
explorer's pane title and a BPC figure), and quits on ``q``: what any Textual app costs on this
machine, before numba, numpy or the engine are imported.

    python bench/bare_app.py
"""

from textual.app import App, ComposeResult
from textual.widgets import Static


class BareApp(App):
    """One static line; ``q`` quits."""

    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("text · surprisal   BPC 0.0000")


if __name__ == "__main__":
    BareApp().run()
