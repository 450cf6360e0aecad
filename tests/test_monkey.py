"""A monkey in the app: random key sequences, bursts and resizes through Pilot, with invariants.

A hypothesis rule-based state machine drives the real app on the demo model. Keys come from every
binding of the explorer, the dashboard (and its charts), help, the command palette and the
prompts; a burst sends all its keys at once, as a terminal does when they arrive in one read (typed
fast, pasted, or over a slow link), instead of Pilot's key-then-wait. Commands of the explorer's
grammar (counts, ``gg``, marks, ``/`` and ``:`` prompts) are checked against what they must do.

After every step: the app is still running, nothing raised, no error notification, the cursor is in
the text, the explorer is at the bottom of one stack of distinct screens, and every displayed
widget renders. The default suite runs a fixed small budget; ``--monkey-examples N`` runs longer.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import string

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from textual import events
from textual.command import CommandPalette
from textual.geometry import Region

from factormap.tui import motions
from factormap.tui.keymap import EXPLORER_BINDINGS
from factormap.tui.screens.dashboard import DASHBOARD_BINDINGS
from factormap.tui.screens.explorer import ExplorerScreen
from factormap.tui.screens.help import GLOBAL_KEYS, HelpScreen
from factormap.tui.widgets.charts import Chart
from factormap.tui.widgets.intervention_rows import ROWS
from factormap.tui.widgets.interventions_pane import InterventionsPane
from tests.app_helpers import make_demo_app, settle

SIZES = [(60, 16), (59, 15), (80, 24), (100, 32), (120, 40), (140, 30), (160, 48), (200, 60)]
"""Terminal sizes the monkey resizes to (one below the explorer's minimum)."""
QUIT_KEYS = {"q", "ctrl+c", "ctrl+q"}
"""Keys left out of the random ones: quitting ends the run (the grammar rules check ``mq``)."""
CHARACTERS = {"slash": "/", "colon": ":", "apostrophe": "'", "dollar_sign": "$", "question_mark": "?",
              "left_square_bracket": "[", "right_square_bracket": "]", "enter": "\r", "escape": "\x1b",
              "tab": "\t", "space": " ", "backspace": "\x7f"}
"""The character a terminal sends for each named key."""


def binding_keys(*binding_lists) -> list[str]:
    """Every key of the bindings, as Textual names them."""
    return sorted({key.strip() for bindings in binding_lists for b in bindings for key in b.key.split(",")})


RANDOM_KEYS = sorted((set(binding_keys(EXPLORER_BINDINGS, DASHBOARD_BINDINGS, Chart.BINDINGS,
                                       InterventionsPane.BINDINGS, HelpScreen.BINDINGS, GLOBAL_KEYS))
                      | set(string.ascii_lowercase) | {"enter", "escape", "backspace", "shift+tab"}) - QUIT_KEYS)
"""Keys of every screen, plus letters for the prompts and the palette."""


def key_event(key: str) -> events.Key:
    """The event a terminal's key ``key`` becomes."""
    return events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None))


def typed(text: str) -> list[str]:
    """The keys that type ``text``."""
    names = {v: k for k, v in CHARACTERS.items()}
    return [names.get(ch, ch) for ch in text]


class AppMonkey(RuleBasedStateMachine):
    """The demo app under random keys; see the module docstring for the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.context_vars = contextvars.copy_context()
        self.app = make_demo_app()
        self.errors: list[str] = []
        notify = self.app.notify

        def recording_notify(message, *args, severity="information", **kwargs):
            if severity == "error":
                self.errors.append(str(message))
            return notify(message, *args, severity=severity, **kwargs)

        self.app.notify = recording_notify
        # The palette's quit commands would end the run (the grammar rules check that mq does not).
        system_commands = self.app.get_system_commands
        self.app.get_system_commands = lambda screen: (c for c in system_commands(screen) if c.title != "Quit")
        self.unpatch = pytest.MonkeyPatch()
        self.unpatch.setattr("factormap.tui.palette.EXPLORER_BINDINGS",
                             [b for b in EXPLORER_BINDINGS if b.action != "app.quit"])
        self.context = self.app.run_test(size=(100, 32))
        self.pilot = self.run(self.context.__aenter__())
        self.text = self.explorer.session.text

    def run(self, coroutine):
        # One context for every step: run_test sets the active app in it, and Pilot's pauses
        # redraw in the caller's context.
        return self.loop.run_until_complete(self.loop.create_task(coroutine, context=self.context_vars))

    @property
    def explorer(self) -> ExplorerScreen:
        return self.app.screen_stack[0]

    def teardown(self) -> None:
        try:
            self.run(self.context.__aexit__(None, None, None))
        except Exception:  # noqa: BLE001  (an invariant has already said what went wrong)
            pass
        finally:
            self.loop.close()
            self.unpatch.undo()

    # -- driving ---------------------------------------------------------------------------
    async def _burst(self, keys: list[str]) -> None:
        """All of ``keys`` at once, as from one read of the terminal, then a short settle."""
        for key in keys:
            self.app.post_message(key_event(key))
        for _ in range(3):
            await self.pilot.pause()

    def burst(self, keys: list[str]) -> None:
        self.run(self._burst(keys))

    def settle(self) -> None:
        self.run(settle(self.pilot, attempts=50))

    def to_explorer(self) -> None:
        """Back to the explorer with nothing pending, the prompt closed and the text focused."""
        async def back() -> None:
            for _ in range(6):
                screen = self.app.screen
                if screen is self.explorer and not screen.pending and screen.maximized is None \
                        and screen.query_one("#prompt").has_class("-hidden"):
                    break
                await self.pilot.press("escape")
                await self.pilot.pause()
            self.explorer.query_one("#text").focus()
            await self.pilot.pause()

        self.settle()
        self.run(back())

    # -- random use ------------------------------------------------------------------------
    @initialize(first=st.sampled_from(["dashboard", "explorer"]))
    def start(self, first: str = "explorer") -> None:
        """Start on the explorer, or on the dashboard with its charts computed (the simplest
        example hypothesis tries starts there)."""
        self.settle()
        if first == "dashboard":
            self.open_dashboard()

    @rule(keys=st.lists(st.sampled_from(RANDOM_KEYS), min_size=1, max_size=8), burst=st.booleans())
    def press_keys(self, keys: list[str], burst: bool) -> None:
        """Any keys of any screen, one at a time (Pilot waits after each) or as one burst."""
        if burst:
            self.burst(keys)
        else:
            self.run(self.pilot.press(*keys))

    @rule()
    def open_dashboard(self) -> None:
        """The dashboard, with its charts computed."""
        self.to_explorer()
        self.burst(["D"])
        self.settle()

    @rule(size=st.sampled_from(SIZES))
    def resize(self, size: tuple[int, int]) -> None:
        self.run(self.pilot.resize_terminal(*size))
        self.run(self.pilot.pause())

    @rule()
    def wait_for_workers(self) -> None:
        self.settle()

    @rule(row=st.integers(0, len(ROWS) - 1))
    def toggle_intervention(self, row: int) -> None:
        """Toggle an intervention the way a person does: focus its pane, press its number."""
        self.to_explorer()
        self.explorer.query_one("#interventions").focus()
        self.run(self.pilot.pause())
        self.burst([str(row + 1)])
        self.settle()

    # -- the grammar, in bursts ---------------------------------------------------------------
    @rule(count=st.none() | st.integers(1, 5000))
    def go_to_start(self, count: int | None) -> None:
        """``gg`` (``{count}gg``) goes to the start (to position count)."""
        self.to_explorer()
        self.burst(["l", "l"])
        self.burst([*str(count or ""), "g", "g"])
        expected = min(count or 0, len(self.text) - 1)
        assert self.explorer.cursor == expected, f"{count or ''}gg left the cursor at {self.explorer.cursor}"
        assert self.explorer.pending == ""

    @rule(letter=st.sampled_from(string.ascii_lowercase), steps=st.integers(1, 900))
    def mark_and_return(self, letter: str, steps: int) -> None:
        """``m{letter}`` sets a mark (and does nothing else); ``'{letter}`` returns to it."""
        self.to_explorer()
        before = (self.explorer.cursor, self.explorer.lens, self.explorer.neuron)
        self.burst(["m", letter])
        assert self.app.is_running, f"m{letter} quit the app"
        assert (self.explorer.cursor, self.explorer.lens, self.explorer.neuron) == before, f"m{letter} did more"
        assert self.explorer.marks.get(letter) == before[0]
        self.burst([*str(steps), "l"])
        self.burst(["apostrophe", letter])
        assert self.explorer.cursor == before[0], f"'{letter} went to {self.explorer.cursor}, not {before[0]}"

    @rule(data=st.data())
    def search(self, data) -> None:
        """``/word`` + enter goes to the next match of the word and changes nothing else."""
        self.to_explorer()
        word = data.draw(st.sampled_from(sorted(set(re.findall(rb"[a-z]{3,6}", self.text))))).decode()
        before = (self.explorer.cursor, self.explorer.lens, self.explorer.neuron)
        self.burst(["slash", *typed(word), "enter"])
        hit = motions.search(self.text, word.encode(), before[0])
        assert self.explorer.cursor == hit[0], f"/{word} went to {self.explorer.cursor}, not {hit[0]}"
        assert (self.explorer.lens, self.explorer.neuron) == before[1:], f"/{word} changed the lens or neuron"
        assert self.explorer.query_one("#prompt").has_class("-hidden")

    @rule(t=st.integers(0, 2600))
    def go_to_position(self, t: int) -> None:
        """``:t`` + enter goes to position t."""
        self.to_explorer()
        self.burst(["colon", *str(t), "enter"])
        assert self.explorer.cursor == min(t, len(self.text) - 1)

    # -- what must always hold ------------------------------------------------------------
    @invariant()
    def still_running_without_errors(self) -> None:
        assert self.app._exception is None, repr(self.app._exception)
        assert self.app.is_running and self.app.return_code is None, "the app has exited"
        assert not self.errors, self.errors

    @invariant()
    def cursor_in_the_text(self) -> None:
        assert 0 <= self.explorer.cursor < len(self.text)

    @invariant()
    def one_stack_of_distinct_screens(self) -> None:
        stack = self.app.screen_stack
        assert isinstance(stack[0], ExplorerScreen)
        kinds = [type(s) for s in stack]
        assert len(set(kinds)) == len(kinds), kinds
        assert all(not isinstance(s, ExplorerScreen) for s in stack[1:])
        assert not isinstance(self.app.screen, CommandPalette) or len(stack) <= 4

    @invariant()
    def every_displayed_widget_renders(self) -> None:
        """Every displayed widget of the top screen, scrolled into view or not, draws three times more."""
        async def redraw() -> None:
            for _ in range(3):
                for widget in self.app.screen.query("*"):
                    if widget.display and widget.size.area:
                        widget.refresh()
                        widget.render_lines(Region(0, 0, *widget.size))
                await self.pilot.pause()

        self.run(redraw())
        assert self.app._exception is None, repr(self.app._exception)


def test_the_app_holds_up_under_a_monkey(request, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # E and S write their files here
    examples = request.config.getoption("--monkey-examples")
    run_state_machine_as_test(AppMonkey, settings=settings(
        max_examples=examples or 4, stateful_step_count=25 if examples else 10, deadline=None,
        suppress_health_check=list(HealthCheck), derandomize=not examples, print_blob=True))


@pytest.mark.parametrize("keys", [["g", "g"], ["1", "0", "0", "g", "g"]])
def test_a_burst_of_gg_is_gg(keys):
    """The smallest burst cases, on their own (the monkey finds them among others)."""
    machine = AppMonkey()
    try:
        machine.start()
        machine.burst(["5", "0", "0", "l"])
        machine.burst(keys)
        assert machine.explorer.cursor == (100 if len(keys) > 2 else 0)
    finally:
        machine.teardown()
