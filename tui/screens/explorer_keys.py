"""The explorer's actions: what each key of :data:`factormap.tui.keymap.EXPLORER_BINDINGS` does.

A mixin of :class:`factormap.tui.screens.explorer.ExplorerScreen`, kept apart so the screen module
stays about layout and routing. Every action reads arrays the app already holds; the only engine
work started here (thresholds, exports) goes to a thread worker.
"""

from __future__ import annotations

import functools
import math
import string

from textual.widgets import Input

from factormap.tui import jobs, motions
from factormap.tui.fields import compact
from factormap.tui.glyphs import quoted_text
from factormap.tui.keymap import PREFIX_KEYS
from factormap.tui.lenses import next_lens
from factormap.tui.messages import Thresholds
from factormap.tui.screens.dashboard import DashboardScreen
from factormap.tui.screens.help import HelpScreen
from factormap.tui.screens.inspector import InspectorScreen
from factormap.tui.widgets.attribution_flow import next_unit_in_map
from factormap.tui.widgets.intervention_rows import toggle_keys

PROMPTS = {"/": f"search: text, with escapes {motions.SEARCH_ESCAPES}", ":": "go to position (0-based); record FILE.jsonl; write FILE.md; feature NAME=REGEX; features"}
"""Placeholder of the prompt for each kind."""


def reported(method):
    """Run ``method``; an exception becomes an error notification instead of ending the app."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (any failure must reach the person, not the terminal)
            self.pending = ""
            self.notify(f"{method.__name__.removeprefix('action_')}: {exc}", severity="error", timeout=8)
            return None

    return run


class ExplorerKeys:
    """Actions bound to the explorer's keys (mixed into ExplorerScreen)."""

    # -- motions ------------------------------------------------------------------------------
    @reported
    def action_step(self, delta: int) -> None:
        """Move ``delta`` bytes, times the count."""
        self.move_to(self.cursor + delta * self.take_count())

    @reported
    def action_word(self, name: str) -> None:
        """Move by words (``w``, ``b``, ``e``), count times."""
        for _ in range(self.take_count()):
            self.move_to(self.text_motion(name))

    @reported
    def action_line_end(self) -> None:
        """Move to the last byte of the line."""
        self.take_count()
        self.move_to(motions.line_end(self.session.text, self.cursor))

    @reported
    def action_go_end(self) -> None:
        """``G``: the end of the text, or the position given as a count."""
        n = self.take_count(default=-1)
        self.move_to(self.session.n - 1 if n < 0 else n, jump=True)

    @reported
    def action_rows(self, pages: float) -> None:
        """Move by a fraction of a page of rows (ctrl-d/u: half, ctrl-f/b: whole), count times."""
        rows, _ = self.visible_rows()
        step = max(1, int(rows * abs(pages))) * self.take_count()
        self.move_to(self.move_rows(int(math.copysign(step, pages))))

    @reported
    def action_digit(self, digit: int) -> None:
        """A count digit; ``0`` alone is line start; toggles an intervention in that pane."""
        interventions = self.query_one("#interventions")
        if self.focused is interventions and digit > 0:
            self.pending = ""
            self.action_toggle_intervention(digit - 1)
        elif digit == 0 and not self.pending:
            self.move_to(motions.line_start(self.session.text, self.cursor))
        else:
            self.pending = self.pending.rstrip(PREFIX_KEYS) + str(digit)

    @reported
    def action_prefix(self, prefix: str) -> None:
        """Start a two-key command (``gg``, ``m{a-zA-Z}``, ``'{a-zA-Z}``, ``i{1-9}``); the next key completes it."""
        self.pending = self.pending.rstrip(PREFIX_KEYS) + prefix

    @reported
    def complete_prefix(self, prefix: str, char: str) -> None:
        """Finish ``prefix`` with the key ``char`` (anything unexpected cancels it; a printable key
        that names no mark says that marks are letters)."""
        count = self.take_count(default=-1)
        if not char:  # a key that types nothing (an arrow); and "" is in every string below
            return
        if prefix == "g" and char == "g":
            self.move_to(0 if count < 0 else count, jump=True)
        elif prefix == "m" and char in string.ascii_letters:
            self.marks[char] = self.cursor
            self.notify(f"mark {char} at {self.cursor:,}", timeout=2)
        elif prefix in ("m", "'") and char not in string.ascii_letters and not prefix == char == "'":
            if char.isprintable():  # escape and the like cancel quietly
                self.notify(f"marks are the letters a–z and A–Z, not {char!r}", severity="warning", timeout=3)
        elif prefix == "'":
            if char not in self.marks:
                self.notify(f"mark {char} is not set", severity="warning", timeout=3)
            else:
                self.move_to(self.marks[char], jump=True)
        elif prefix == "i" and char in string.digits:
            rows = len(self.query_one("#interventions").rows)
            if 1 <= int(char) <= rows:
                self.action_toggle_intervention(int(char) - 1)
            else:
                self.notify(f"the interventions are {toggle_keys(rows)}", severity="warning", timeout=3)

    @reported
    def action_cancel(self) -> None:
        """Drop a pending count or prefix, close the prompt, restore a maximised pane."""
        self.pending = ""
        if not self.query_one("#prompt").has_class("-hidden"):
            self._close_prompt()
        elif self.maximized is not None:
            self.minimize()

    # -- search and go to -----------------------------------------------------------------
    @reported
    def action_prompt(self, kind: str, text: str = "") -> None:
        """Open the prompt line for a search (``/``) or a position (``:``), holding ``text`` (the
        command palette's ``:`` commands open it with their word typed, e.g. ``write ``)."""
        self.pending = ""
        self._prompt_kind = kind
        prompt = self.query_one("#prompt", Input)
        prompt.placeholder = PROMPTS[kind]
        prompt.value = text
        prompt.cursor_position = len(text)
        prompt.remove_class("-hidden")
        self.set_focus(prompt)  # now, not after a refresh: the keys typed next belong to the prompt

    @reported
    def submit_prompt(self, kind: str, value: str) -> None:
        """Run a submitted search, go-to, or prompt command (``:record FILE``, ``:write FILE.md``)."""
        if kind == ":":
            if self.run_feature_command(value) or self.run_prompt_command(value):
                return
            try:
                t = int(value.strip().replace(",", "").replace("_", ""))
            except ValueError:
                self.notify(f"not a position: {value!r}", severity="warning", timeout=3)
                return
            if not 0 <= t < self.session.n:
                self.notify(f"position {t:,} is outside 0..{self.session.n - 1:,}", severity="warning")
            self.move_to(t, jump=True)
        elif value:
            try:
                needle = motions.parse_pattern(value)
            except ValueError as exc:
                self.notify(str(exc), severity="warning", timeout=5)
                return
            self.needle = needle
            self.query_one("#text").needle = self.needle
            self.action_search_next(+1)
            count = self.session.text.count(self.needle)
            if count:
                self.notify(f"{count:,} match{'es' if count > 1 else ''} of {quoted_text(needle)}", timeout=3)

    @reported
    def action_search_next(self, direction: int) -> None:
        """Go to the next (``n``) or previous (``N``) match, wrapping around."""
        if not self.needle:
            self.notify("no search yet: press / to search", severity="warning", timeout=3)
            return
        for _ in range(self.take_count()):
            hit = motions.search(self.session.text, self.needle, self.cursor, forward=direction > 0)
            if hit is None:
                self.notify(f"not found: {quoted_text(self.needle)}", severity="warning", timeout=3)
                return
            t, wrapped = hit
            if wrapped:
                self.notify("search wrapped around", timeout=2)
            self.move_to(t, jump=True)
        self.query_one("#text").refresh_tints()

    # -- neurons, lenses, interventions ----------------------------------------------------
    @reported
    def action_neuron(self, delta: int) -> None:
        """Select the next (previous) neuron, count times, wrapping around H; in the attribution
        pane's neuron mode, the next (previous) unit of its heat map (units by gradient energy)."""
        pane = self.query_one("#attribution")
        if pane.mode == "neuron" and self.attribution is not None:
            self.neuron = next_unit_in_map(self.attribution, self.neuron, delta * self.take_count())
            return
        self.neuron = (self.neuron + delta * self.take_count()) % self.session.H

    @reported
    def action_scope(self, op: str) -> None:
        """Add the selected neuron to the oscilloscope (or remove it)."""
        self.take_count()
        scope = self.query_one("#oscilloscope")
        if op == "add":
            scope.add_neuron(self.neuron)
        else:
            scope.remove_neuron(self.neuron)

    @reported
    def action_cycle_lens(self) -> None:
        """Tint the text with the next lens."""
        self.take_count()
        self.lens = next_lens(self.lens)

    @reported
    def action_toggle_intervention(self, row: int) -> None:
        """Toggle row ``row`` (0-based) of the interventions pane."""
        self.query_one("#interventions").toggle(row)

    @reported
    def action_attribution_mode(self) -> None:
        """Switch the attribution pane (and the attribution lens) to its next quantity."""
        self.take_count()
        self.query_one("#attribution").cycle_mode()
        if self.attribution is not None:
            self.show_heat(self.attribution)

    def action_jump(self, direction: int) -> None:
        """Next (previous) position whose surprisal (or Δbits, under that lens) is high.

        High means at or above the 98th percentile of the known values (of the positive Δbits).
        """
        count = self.take_count()
        kind = "delta_bits" if self.lens == "delta_bits" else "surprisal"
        values = self.delta_bits if kind == "delta_bits" else self.session.bits
        if values is None:
            self.notify("no intervention is active: no Δbits to jump by", severity="warning", timeout=3)
            return
        if kind not in self.thresholds:
            self._pending_jump = direction * count
            self._start_threshold(kind, values)
            return
        threshold = self.thresholds[kind]
        if math.isnan(threshold):
            self.notify(f"no high {kind} position known yet", severity="warning", timeout=3)
            return
        t = self.cursor
        for _ in range(abs(direction) * count):
            nxt = motions.next_at_least(values, t, threshold, forward=direction > 0)
            if nxt is None:
                self.notify(f"no further position with {kind} ≥ {compact(threshold)}", timeout=3)
                break
            t = nxt
        self.move_to(t, jump=True)

    def _start_threshold(self, kind: str, values) -> None:
        def job() -> None:
            value = jobs.high_threshold(values, positive_only=kind == "delta_bits")
            self.post_message(Thresholds(kind, value))

        self.run_worker(job, thread=True, group=f"threshold-{kind}", exclusive=True, exit_on_error=False,
                        name=f"{kind} threshold")

    # -- export, zoom, help -------------------------------------------------------------------
    @reported
    def action_export(self) -> None:
        """Write the visible positions' states, bits, predictions and attributions to a new .npz."""
        self.take_count()
        window = self.query_one("#text").window
        path = jobs.reserve_export_path(self.model_path, self.text_path, self.cursor)
        K = self.query_one("#attribution").K
        job = functools.partial(jobs.export_view, self.session, window, self.cursor, K, path,
                                self.post_message, self._cancelled)
        self.run_worker(job, thread=True, group="export", exit_on_error=False, name="export")

    @reported
    def action_dashboard(self) -> None:
        """Open the dashboard; the position it closes with (enter on a chart item) becomes the cursor."""
        self.take_count()
        screen = DashboardScreen(self.session, self.model_path, self.text_path, self.cursor)
        self.app.push_screen(screen, callback=lambda t: None if t is None else self.move_to(t, jump=True))

    @reported
    def action_inspect(self) -> None:
        """Open the inspector on the selected neuron; the position it closes with becomes the cursor."""
        self.take_count()
        screen = InspectorScreen(self.session, self.neuron, self.user_features.arrays())
        self.app.push_screen(screen, callback=lambda t: None if t is None else self.move_to(t, jump=True))

    @reported
    def action_zoom(self) -> None:
        """Maximise the focused pane, or restore it."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

    @reported
    def action_help(self) -> None:
        """Show every key with what it does."""
        panes = [(pane.id, list(pane.BINDINGS)) for pane in self.query("#oscilloscope, #attribution, #interventions")
                 if pane.BINDINGS]
        self.app.push_screen(HelpScreen(panes))
