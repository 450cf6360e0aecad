"""The first frame: the text and the status line, drawn while the engine is imported behind it.

Importing the session and its numba kernels takes 0.3-0.5 s (more on a busy machine), longer than
Textual takes to draw. This screen imports nothing of the engine: it shows the start of the text
as the explorer's text pane lays it out, untinted (no bit is known yet), says the engine is
loading, and opens the engine in a thread worker once it has been painted. Keys typed meanwhile are
kept, in order, for the explorer's key grammar (:meth:`factormap.tui.app.FactormapApp.on_event`
hands them over once it is mounted); ``q`` with nothing typed before it, and ctrl+c, quit at once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from factormap.tui import text_layout as tl
from factormap.tui.fields import Field, fit
from factormap.tui.glyphs import byte_label
from factormap.tui.widgets.fitted_footer import FittedFooter

if TYPE_CHECKING:
    from factormap.tui.opening import Opening

LOADING = "loading the engine"
"""The status line's work field until the explorer replaces this screen."""


class TextGlimpse(Widget):
    """The first rows of the text, wrapped as the text pane wraps them (:mod:`factormap.tui.text_layout`)."""

    DEFAULT_CSS = """
    TextGlimpse { width: 1fr; height: 1fr; }
    """

    def __init__(self, text: bytes, **kwargs) -> None:
        """Args:
            text: the whole text (only the rows on screen are read).
            **kwargs: passed to Widget.
        """
        super().__init__(**kwargs)
        self.text = text
        self._rows: list[int] = []
        self._rows_key = (0, 0)

    def render_line(self, y: int) -> Strip:
        """Row ``y``: the glyph of every byte on it."""
        width, height = max(4, self.size.width), self.size.height
        if self._rows_key != (width, height):
            self._rows = tl.rows_from(self.text, 0, width, height) if self.text else []
            self._rows_key = (width, height)
        if y >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        end = self._rows[y + 1] if y + 1 < len(self._rows) else tl.next_row(self.text, self._rows[y], width)
        glyphs = "".join(tl.GLYPHS[b] for b in self.text[self._rows[y]:end])
        return Strip([Segment(glyphs, self.rich_style)]).extend_cell_length(width, self.rich_style)


class LoadingStatus(Widget):
    """The status line until the explorer's replaces it: position, byte, that the engine loads, and
    the files. Not the explorer's :class:`~factormap.tui.widgets.status_line.StatusLine`, whose
    module imports the interventions' rows and with them the engine."""

    DEFAULT_CSS = """
    LoadingStatus { height: 1; width: 1fr; }
    """

    def __init__(self, opening: Opening, model_name: str, text_name: str, **kwargs) -> None:
        """Args:
            opening: the model and text being opened.
            model_name: the model file's name.
            text_name: the text file's name.
            **kwargs: passed to Widget.
        """
        super().__init__(**kwargs)
        self.opening, self.model_name, self.text_name = opening, model_name, text_name

    def render(self) -> Text:
        """`` t 0/n │ 'byte' │ ⟳ loading the engine``, and at the right the files and H, which drop first."""
        width = self.size.width
        byte = self.opening.text[0] if self.opening.text else 0
        line = fit([Field(f" t 0/{self.opening.n:,}", 0, style="bold"), Field(f"'{byte_label(byte)}'", 0),
                    Field(f"⟳ {LOADING}", 0, style="italic")], width, " │ ")
        right = fit([Field(self.model_name, 2), Field(self.text_name, 1), Field(f"H{self.opening.H}", 1)],
                    width - line.cell_len - 2, " · ")
        if right.cell_len and line.cell_len + right.cell_len + 2 <= width:
            right.stylize("dim")
            line.append(" " * (width - line.cell_len - right.cell_len - 1))
            line.append_text(right)
        return line


class LoadingScreen(Screen):
    """The screen shown until the engine is ready (see the module's docstring).

    Attributes:
        opening: the model and text to open.
        typed: keys typed while loading, in order, for the explorer.
    """

    BINDINGS = [Binding("q", "app.quit", "quit", id="quit-loading", tooltip="Quit")]

    @dataclass
    class Opened(Message):
        """The engine is imported and the session built (posted from the worker thread).

        Attributes:
            session: the session (a :class:`factormap.engine.session.Session`).
            warmup_ahead: the child compiling kernels on a first run, or None.
        """

        session: Any
        warmup_ahead: Any

    def __init__(self, opening: Opening, model_path: Path, text_path: Path) -> None:
        """Args:
            opening: the model and text to open.
            model_path: the model file (shown by name).
            text_path: the text file (shown by name).
        """
        super().__init__()
        self.opening = opening
        self.model_path, self.text_path = model_path, text_path
        self.typed: list[events.Key] = []

    def compose(self) -> ComposeResult:
        """The text box (titled as the explorer's), the status line and the footer."""
        with Vertical(id="text-box") as box:
            box.border_title = "text · surprisal"
            yield TextGlimpse(self.opening.text, id="glimpse")
        yield LoadingStatus(self.opening, self.model_path.name, self.text_path.name, id="status")
        yield FittedFooter()

    def open_engine(self) -> None:
        """Open the engine in a thread worker (the app calls this once its first frame is painted:
        importing numba beside the loop would slow that frame down)."""
        self.run_worker(self._open, thread=True, group="open", exclusive=True, name="open the engine")

    def _open(self) -> None:
        from factormap.engine.errors import FactormapError

        try:
            session, warmup_ahead = self.opening.open()
        except FactormapError as exc:  # the model file changed since the command line checked it
            self.app.call_from_thread(self.app.refuse_input, str(exc))
            return
        if get_current_worker().is_cancelled:  # the app quit meanwhile: nothing may outlive it
            if warmup_ahead is not None:
                warmup_ahead.stop()
            session.close()
            return
        # The explorer's widgets import the rest of the engine's modules: here, not on the event loop.
        importlib.import_module("factormap.tui.screens.explorer")
        self.post_message(self.Opened(session, warmup_ahead))

    async def feed_key(self, event: events.Key) -> bool:
        """Keep a key for the explorer; False leaves it to Textual (ctrl+c, and ``q`` typed first).

        Args:
            event: the key, not yet forwarded to any widget.
        """
        active = self.active_bindings.get(event.key)
        if active is not None and (active.binding.priority or (event.key == "q" and not self.typed)):
            return False
        self.typed.append(event)
        return True
