"""The text pane: the text around the cursor, wrapped, each byte tinted by the active lens.

Only the visible rows are laid out and drawn (a 100 MB text costs what a short one does). A key
press changes ``cursor``; the pane scrolls just enough to keep it visible and redraws from arrays
it already holds: the session's bits, the window's states, the last attribution and Δbits. A move
that does not scroll repaints only the rows of the old and the new cursor (the tints of the window
stay; the styles cache keeps the other rows), so a key held down costs two rows a frame, not all.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.reactive import reactive, var
from textual.strip import Strip
from textual import events
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget

from factormap.tui import text_layout as tl
from factormap.tui.lenses import LENSES

SCROLL_MARGIN = 2
"""Rows kept between the cursor and the top or bottom edge when the pane scrolls."""

_CURSOR = Style(reverse=True, bold=True)
_ESCAPE = Style(dim=True, italic=True)
_MATCH = Style(underline=True)
_ESCAPES = np.array([tl.is_escape(b) for b in range(256)], np.int64)


class TextPane(Widget, can_focus=True):
    """The text, wrapped, with the cursor byte highlighted and each byte tinted by a lens.

    Attributes:
        cursor: the position t of the cursor.
        lens: the name of the active lens (a key of :data:`factormap.tui.lenses.LENSES`).
        neuron: the selected neuron, whose activation the "activation" lens shows.
        top: the offset of the first visible row.
    """

    DEFAULT_CSS = """
    TextPane { width: 1fr; height: 1fr; }
    """

    # var: a reactive would repaint every row on each move; watch_cursor repaints what changed
    cursor: var[int] = var(0, always_update=True)
    lens: reactive[str] = reactive("surprisal")
    neuron: reactive[int] = reactive(0)

    def __init__(self, text: bytes, bits: np.ndarray, **kwargs) -> None:
        """Args:
            text: the whole text.
            bits: the session's (n-1,) bits array (NaN where not yet computed), read in place.
            **kwargs: passed to Widget (id, classes).
        """
        super().__init__(**kwargs)
        self.text = text
        self.bits = bits
        self.top = 0
        self.needle = b""
        self._window_states: tuple[int, np.ndarray] | None = None
        self._heat: tuple[int, np.ndarray] | None = None
        self._delta_bits: np.ndarray | None = None
        self._rows: list[int] = [0]
        self._window_end = 0
        self._buckets: np.ndarray = np.empty(0, np.int64)
        self._layout_key: tuple | None = None
        self._geometry: tuple | None = None
        self._styles: dict[tuple, Style] = {}
        self._base = Style()

    @dataclass
    class Clicked(Message):
        """A byte was clicked; ``t`` is its position."""

        t: int

    def on_click(self, event: events.Click) -> None:
        """A click on a glyph asks for the cursor there."""
        self._layout()
        if 0 <= event.y < len(self._rows):
            self.post_message(self.Clicked(tl.at_column(self.text, self._rows[event.y], self.row_width, event.x)))

    # -- data in ----------------------------------------------------------------------------
    def set_window_states(self, t0: int, states: np.ndarray) -> None:
        """Hold the states of [t0, t0 + len(states)) for the activation lens."""
        self._window_states = (t0, states)
        self.refresh_tints()

    def set_heat(self, t: int, heat: np.ndarray) -> None:
        """Hold the attribution heat of the prediction at ``t``: ``heat[k]`` tints byte t-k (0..1)."""
        self._heat = (t, heat)
        if self.lens == "attribution":  # other lenses do not show it (a lens change retints)
            self.refresh_tints()

    def set_delta_bits(self, delta_bits: np.ndarray | None) -> None:
        """Hold per-position Δbits of the active interventions (None: no edit is active)."""
        self._delta_bits = delta_bits
        self.refresh_tints()

    def refresh_tints(self) -> None:
        """Recompute the visible tints at the next draw (new bits, states or lens data arrived)."""
        self._layout_key = None
        self.refresh()

    # -- geometry ---------------------------------------------------------------------------
    @property
    def window(self) -> tuple[int, int]:
        """The visible positions [t0, t1)."""
        self._layout()
        return self._rows[0], self._window_end

    @property
    def page_rows(self) -> int:
        """Rows of text the pane shows."""
        return max(1, self.size.height)

    @property
    def row_width(self) -> int:
        """Cells per row."""
        return max(4, self.size.width)

    def _scroll_to_cursor(self) -> None:
        text, width, rows, t = self.text, self.row_width, self.page_rows, self.cursor
        margin = min(SCROLL_MARGIN, (rows - 1) // 2)
        row = tl.row_start(text, t, width)
        if t < self.top:
            self.top = tl.rows_up(text, row, width, margin)
            return
        visible = tl.rows_from(text, self.top, width, rows)
        if row in visible:
            i = visible.index(row)
            last = len(visible) - 1
            if i <= last - margin or visible[-1] == tl.row_start(text, len(text) - 1, width):
                return
            self.top = visible[i - (last - margin)]
            return
        ahead = tl.rows_from(text, visible[-1], width, rows + 1)
        if row in ahead:
            self.top = tl.rows_up(text, row, width, rows - 1 - margin)
        else:
            self.top = tl.rows_up(text, row, width, rows // 3)

    def watch_cursor(self, old: int, new: int) -> None:
        """Scroll to keep the cursor visible; redraw every row after a scroll, else the two rows
        that hold the old and the new cursor."""
        top = self.top
        self._scroll_to_cursor()
        if self.top != top or self._layout_key is None or not self.is_mounted:
            self.refresh_tints()
            return
        self._layout()
        for t in {old, new}:
            y = self._row_of(t)
            if y is None:
                self.refresh_tints()
                return
            self.refresh(Region(0, y, self.row_width, 1))

    def _row_of(self, t: int) -> int | None:
        """The visible row that holds position ``t`` (None when it is not in view)."""
        if not self._rows[0] <= t < self._window_end:
            return None
        return bisect.bisect_right(self._rows, t) - 1

    def watch_lens(self) -> None:
        """Tint with the new lens."""
        self.refresh_tints()

    def watch_neuron(self) -> None:
        """The activation lens follows the selected neuron."""
        self.refresh_tints()

    def on_resize(self) -> None:
        """Re-wrap and keep the cursor visible."""
        self.top = tl.row_start(self.text, self.top, self.row_width)
        self._scroll_to_cursor()
        self.refresh_tints()

    def notify_style_update(self) -> None:
        """A new theme or stylesheet: take the new base style at the next draw."""
        super().notify_style_update()
        self._layout_key = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The pane fills what it is given; the text scrolls inside it."""
        return container.height

    # -- drawing ----------------------------------------------------------------------------
    def _values(self, t0: int, t1: int) -> np.ndarray:
        """The lens's value for each byte in [t0, t1); NaN where it is not known."""
        out = np.full(t1 - t0, np.nan)
        lens = self.lens
        if lens in ("surprisal", "delta_bits"):
            per_position = self.bits if lens == "surprisal" else self._delta_bits
            if per_position is not None:
                # the prediction made at p-1 is the one that paid for byte p
                lo, hi = max(t0, 1), min(t1, per_position.shape[0] + 1)
                if hi > lo:
                    out[lo - t0:hi - t0] = per_position[lo - 1:hi - 1]
        elif lens == "activation" and self._window_states is not None:
            w0, states = self._window_states
            lo, hi = max(t0, w0), min(t1, w0 + states.shape[0])
            if hi > lo and self.neuron < states.shape[1]:
                out[lo - t0:hi - t0] = states[lo - w0:hi - w0, self.neuron]
        elif lens == "attribution" and self._heat is not None:
            t, heat = self._heat
            for k, v in enumerate(heat):
                if t0 <= t - k < t1:
                    out[t - k - t0] = v
        return out

    def _layout(self) -> None:
        key = (self.top, self.row_width, self.page_rows, self.lens)  # the cursor is drawn per row
        if key == self._layout_key:
            return
        geometry = key[:3]
        if geometry != self._geometry:
            self._rows = tl.rows_from(self.text, self.top, self.row_width, self.page_rows)
            self._window_end = tl.next_row(self.text, self._rows[-1], self.row_width)
            self._geometry = geometry
        t0, t1 = self._rows[0], self._window_end
        self._buckets = LENSES[self.lens].buckets(self._values(t0, t1))
        self._base = self.rich_style
        self._layout_key = key

    def _match_mask(self, t0: int, t1: int) -> np.ndarray:
        mask = np.zeros(t1 - t0, bool)
        if self.needle:
            span = self.text[t0:t1 + len(self.needle) - 1]
            i = span.find(self.needle)
            while 0 <= i < t1 - t0:
                mask[i:i + len(self.needle)] = True
                i = span.find(self.needle, i + 1)
        return mask

    def _style(self, key: int) -> Style:
        """The style of a run of bytes whose flags are ``key`` (see :meth:`render_line`)."""
        cache_key = (self.lens, key, self._base)
        style = self._styles.get(cache_key)
        if style is None:
            bucket, flags = divmod(key, 8)
            style = self._base
            if bucket > 0:
                style += LENSES[self.lens].styles[bucket - 1]
            for bit, extra in ((4, _ESCAPE), (2, _MATCH), (1, _CURSOR)):
                if flags & bit:
                    style += extra
            self._styles[cache_key] = style
        return style

    def render_line(self, y: int) -> Strip:
        """One row of the text: a glyph per byte, styled by lens tint, escape and cursor.

        Bytes are grouped into runs that share a style, so a row costs a few numpy operations and
        one segment per run rather than work per byte.
        """
        self._layout()
        width = self.row_width
        if y >= len(self._rows):
            return Strip.blank(width, self._base)
        start = self._rows[y]
        end = self._rows[y + 1] if y + 1 < len(self._rows) else self._window_end
        row = self.text[start:end]
        t0 = self._rows[0]
        keys = (self._buckets[start - t0:end - t0] + 1) * 8
        keys += _ESCAPES[np.frombuffer(row, np.uint8)] * 4
        keys += self._match_mask(start, end) * 2
        if start <= self.cursor < end:
            keys[self.cursor - start] += 1
        cuts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(row)]
        segments = []
        for a, b in zip(cuts, cuts[1:]):
            key = int(keys[a])
            run = row[a:b]
            glyphs = "".join(tl.GLYPHS[c] for c in run) if key & 4 else run.decode("ascii")
            segments.append(Segment(glyphs, self._style(key)))
        return Strip(segments).extend_cell_length(width, self._base)


class TextBox(Vertical):
    """The text pane with its legend: the unit that ``z`` maximises."""

    ALLOW_MAXIMIZE = True
