"""The Textual app: the explorer screen, the command palette's key actions, clean exits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette, Provider
from textual.widgets import Input

from factormap.tui.command_palette import FactormapPalette
from factormap.tui.no_color import grey_level_filters
from factormap.tui.opening import Opening
from factormap.tui.screens.loading import LoadingScreen

# The explorer, the palette's key actions and the recorder import the engine (numba): only once
# the first frame is drawn (see factormap.tui.screens.loading), or where a session is given.
if TYPE_CHECKING:
    from factormap.engine.session import Session
    from factormap.engine.warmup import ChildWarmup
    from factormap.tui.recorder import SessionRecorder
    from factormap.tui.screens.explorer import ExplorerScreen


LOADING_MODE, EXPLORER_MODE = "loading", "explorer"
"""The app's screen modes when it opens the engine behind its first frame (otherwise it has only
Textual's default mode, whose screen is the explorer)."""


def _key_actions() -> type[Provider]:
    """The command palette's key actions (:class:`factormap.tui.palette.KeyActions`), imported when opened."""
    from factormap.tui.palette import KeyActions

    return KeyActions


class FactormapApp(App[int]):
    """factormap-tui's app; the explorer is its only full screen.

    Attributes:
        session: the model and text being explored; None until the engine is opened, when the
            app was given an :class:`~factormap.tui.opening.Opening` (its first frame comes first).
        notice: one line shown as a notification on start (e.g. that this is the demo).
        one_line_errors: end on an unexpected error with one line instead of a traceback (the
            launched app sets it; tests keep Textual's behaviour, which re-raises).
        on_quit: called once when the app starts to quit, with the exit status and whether a quit
            key typed at the terminal started it (launch then ends the process a moment later,
            sooner after a key, whatever still runs); None in tests.
        recorder: the session record being written (``--record``, ``:record``), or None.
        replay_actions: recorded actions ``replay --open`` has yet to apply (``>`` applies the next).
    """

    CSS_PATH = ["global.tcss", "app.tcss"]
    TITLE = "factormap"
    COMMANDS = App.COMMANDS | {_key_actions}
    BINDINGS = [Binding("ctrl+c", "quit", "quit", show=False, priority=True, id="quit-now",
                        tooltip="Quit, even during background work")]

    def __init__(self, session: Session | Opening, model_path: str | Path, text_path: str | Path,
                 notice: str | None = None, warmup_ahead: ChildWarmup | None = None,
                 recorder: SessionRecorder | None = None, replay_actions: list[dict] | None = None) -> None:
        """Args:
            session: the model and text to explore, or an opening that builds them behind a first
                frame drawn before the engine is imported (``warmup_ahead`` then comes from it).
            model_path: the model file (shown by name, never written).
            text_path: the text file (shown by name, never written).
            notice: a line to show once the app has started.
            warmup_ahead: kernels a child process is compiling meanwhile (a first run).
            recorder: write the session's state changes to this record.
            replay_actions: recorded actions to step through.
        """
        opening = session if isinstance(session, Opening) else None
        if opening is not None:
            self.DEFAULT_MODE = LOADING_MODE  # read by App.__init__: the app starts on the loading screen
        super().__init__()
        self._filters = grey_level_filters(self._filters)
        self.session = None if opening is not None else session
        self.model_path, self.text_path = Path(model_path), Path(text_path)
        self.notice = notice
        self.warmup_ahead = warmup_ahead
        self.one_line_errors = False
        self.refused_input: str | None = None
        self.on_quit: Callable[[int, bool], None] | None = None
        self.recorder = recorder
        self.replay_actions = list(replay_actions or [])
        self._typed_ahead: set[events.Key] = set()  # keys read from the terminal, not yet handled
        self._key_in_hand = False
        if opening is not None:
            self.add_mode(LOADING_MODE, lambda: LoadingScreen(opening, self.model_path, self.text_path))
            self.add_mode(EXPLORER_MODE, self._explorer)

    def get_default_screen(self) -> ExplorerScreen:
        """The explorer, opened on the session."""
        return self._explorer()

    def _explorer(self) -> ExplorerScreen:
        from factormap.tui.screens.explorer import ExplorerScreen

        return ExplorerScreen(self.session, self.model_path, self.text_path, self.warmup_ahead)

    async def on_loading_screen_opened(self, message: LoadingScreen.Opened) -> None:
        """The engine is ready: the explorer replaces the loading screen and gets the keys typed
        meanwhile, in order, before any key that arrives after them (this handler holds the
        app's queue until it returns)."""
        loading = self.screen
        self.session, self.warmup_ahead = message.session, message.warmup_ahead
        await self.switch_mode(EXPLORER_MODE)
        await self.remove_mode(LOADING_MODE)
        for key in loading.typed if isinstance(loading, LoadingScreen) else ():
            await self.on_event(events.Key(key.key, key.character))

    def on_mount(self) -> None:
        """Show the start-up notice."""
        if self.notice:
            self.notify(self.notice, timeout=10)

    def on_ready(self) -> None:
        """The first frame is painted: the loading screen may open the engine now."""
        if isinstance(self.screen, LoadingScreen):
            self.screen.open_engine()

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Show a notification, its text always as written: messages carry what the user typed
        (a regex such as ``[0-9]``, a search such as ``[/b]``), which as Textual markup would be
        eaten or end the app with a MarkupError. Widgets' ``notify`` come here too."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_command_palette(self) -> None:
        """Open the command palette (see :class:`factormap.tui.command_palette.FactormapPalette`)."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(FactormapPalette(id="--command-palette"))

    def exit(self, result: int | None = None, return_code: int = 0, message=None) -> None:
        """End the app (``q``, ctrl+c, a hang-up or an unexpected error), telling ``on_quit`` first."""
        self._starting_to_quit(return_code, by_key=self._key_in_hand and return_code == 0 and message is None)
        super().exit(result, return_code, message)

    def _starting_to_quit(self, return_code: int, by_key: bool) -> None:
        if self.on_quit is not None:
            on_quit, self.on_quit = self.on_quit, None
            on_quit(return_code, by_key)

    def key_read(self, key: events.Key) -> None:
        """Called from the terminal driver's input thread as each key is read (see launch).

        The app handles a key only once the event loop and the queue get to it, which can take a
        second (the dashboard's first paint builds every chart on the loop), so ctrl+c, and ``q``
        on a screen where it always quits with no other key queued before it, tell ``on_quit``
        here; the app then quits as usual when it gets to the key.

        Args:
            key: the key, not yet queued.
        """
        if self.on_quit is not None and self._quits_at_once(key):
            self._starting_to_quit(0, by_key=True)
        self._typed_ahead.add(key)

    def _quits_at_once(self, key: events.Key) -> bool:
        """Whether ``key``, arriving now behind the keys still queued, will quit the app."""
        if key.key == "ctrl+c":
            return True
        try:
            screen = self.screen_stack[-1]
        except (KeyError, IndexError):  # no screen yet, or none left
            return False
        if key.key != "q" or self._typed_ahead:
            return False
        # No key grammar (the explorer's decides what q means), no text field:
        return getattr(screen, "feed_key", None) is None and not isinstance(screen.focused, Input) and any(
            isinstance(b, Binding) and b.key == "q" and b.action == "app.quit" for b in screen.BINDINGS)

    async def on_event(self, event: events.Event) -> None:
        """A key meant for the explorer goes to its key grammar as it arrives, before the next key
        (while the engine loads, the loading screen keeps it for the grammar).

        Textual would forward it to the focused widget and resolve its binding only once it has
        bubbled back here, by when the keys after it (of the same terminal read) may have been
        resolved already; see :mod:`factormap.tui.screens.explorer_grammar`.

        On the other screens a key bound to quitting quits as it arrives: each hop through the
        widgets' queues waits for the event loop, which the dashboard's charts keep busy.
        """
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        self._typed_ahead.discard(event)
        self._key_in_hand = True  # a quit from here on was asked for at the terminal
        try:
            feed_key = getattr(self.screen, "feed_key", None)  # the explorer's grammar, or the loading screen's
            if feed_key is not None and await feed_key(event):
                return
            if feed_key is None and self._quits(event):
                self.exit()
                return
            await super().on_event(event)
        finally:
            self._key_in_hand = False

    def _quits(self, event: events.Key) -> bool:
        """Whether ``event`` runs the app's quit on the current screen (never a key typed into a text field)."""
        if event.is_printable and isinstance(self.focused, Input):
            return False
        active = self.screen.active_bindings.get(event.key)
        return active is not None and active.enabled and active.binding.action in ("app.quit", "quit")

    def refuse_input(self, message: str) -> None:
        """End the app because an input file cannot be used after all (``message`` names the file
        and the problem): launch then refuses it as the command line refuses bad input, in one line
        with exit status 2, once the terminal is restored."""
        self.refused_input = message
        self.exit(return_code=2)

    def _handle_exception(self, error: Exception) -> None:
        """With ``one_line_errors`` (set by launch), an unexpected error ends the app with one line."""
        if not self.one_line_errors:
            super()._handle_exception(error)
            return
        self.exit(return_code=1, message=f"factormap-tui: unexpected error: {type(error).__name__}: {error}")
