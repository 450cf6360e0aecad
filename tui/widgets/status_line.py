"""The status line: where the cursor is, what the text costs, what is still being computed."""

from __future__ import annotations

import math

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from factormap.tui.text_layout import GLYPHS


class StatusLine(Widget):
    """One line of figures; the file names drop off first when the terminal is narrow.

    Attributes:
        cursor: the position t.
        byte: the byte at t.
        bits: bits of the prediction made at t (NaN until computed).
        bpc: the text's BPC, or the running figure while the pass streams (NaN before the first chunk).
        bpc_done: fraction of the whole-text pass done (1.0 once complete).
        lens: the active lens's title.
        neuron: the selected neuron.
        pending: keys typed so far of an unfinished command (a count, ``g``, ``m``, ``'``).
        work: what is still running in the background, e.g. "compiling kernels".
    """

    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; }
    """

    cursor: reactive[int] = reactive(0)
    byte: reactive[int] = reactive(0)
    bits: reactive[float] = reactive(math.nan)
    bpc: reactive[float] = reactive(math.nan)
    bpc_done: reactive[float] = reactive(0.0)
    lens: reactive[str] = reactive("surprisal")
    neuron: reactive[int] = reactive(0)
    pending: reactive[str] = reactive("")
    work: reactive[str] = reactive("")

    def __init__(self, model_name: str, text_name: str, H: int, n: int, **kwargs) -> None:
        """Args:
            model_name: the model file's name.
            text_name: the text file's name.
            H: hidden size.
            n: bytes in the text.
            **kwargs: passed to Widget.
        """
        super().__init__(**kwargs)
        self.model_name, self.text_name, self.H, self.n = model_name, text_name, H, n

    def _bpc_text(self) -> str:
        if math.isnan(self.bpc):
            return "BPC …"
        if self.bpc_done >= 1.0:
            return f"BPC {self.bpc:.4f}"
        return f"BPC {self.bpc:.4f}… {int(self.bpc_done * 100):3d}%"  # floor: 100% only when done

    def render(self) -> Text:
        """The figures, most important first; the right part only where it fits."""
        bits = "" if math.isnan(self.bits) else f" {self.bits:.2f}b"
        left = Text()
        left.append(f" t {self.cursor:,}/{self.n:,} ", style="bold")
        left.append(f"{GLYPHS[self.byte]!r}{bits}")
        left.append(" │ ")
        left.append(self._bpc_text(), style="bold" if self.bpc_done >= 1.0 else "")
        left.append(f" │ {self.lens} │ n{self.neuron}")
        if self.pending:
            left.append(f" │ {self.pending}…", style="reverse")
        if self.work:
            left.append(f" │ ⟳ {self.work}", style="italic")
        right = Text(f"{self.model_name} · {self.text_name} · H{self.H} · ? keys ", style="dim")
        width = self.size.width
        if left.cell_len + right.cell_len + 1 <= width:
            left.append(" " * (width - left.cell_len - right.cell_len))
            left.append_text(right)
        left.truncate(width, overflow="ellipsis")
        return left
