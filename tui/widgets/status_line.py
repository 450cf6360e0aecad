"""The status line: where the cursor is, what the text costs, what is still being computed."""

from __future__ import annotations

import math

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from factormap.tui.fields import Field, compact, fit, fixed
from factormap.tui.glyphs import byte_label
from factormap.tui.widgets.intervention_rows import ROWS, toggle_keys


class StatusLine(Widget):
    """One line of figures; the file names drop off first when the terminal is narrow, and no
    figure is ever cut (see :func:`factormap.tui.fields.fit`).

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
        trust: how far float32 figures hold on this text, from :func:`trust_label`; "" until known.
        precision: the float type of the weights and figures ("float32" or "float64").
        edit_rows: rows of the interventions pane; the reminder of their two-key toggles
            (``i1–i8 edits``) is kept at the right before the lens and neuron take long forms.
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
    trust: reactive[str] = reactive("")
    precision: reactive[str] = reactive("float32")
    edit_rows: reactive[int] = reactive(len(ROWS))

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

    def _bpc_field(self) -> Field:
        if math.isnan(self.bpc):
            return Field("BPC (reading the text)", 0, short="BPC ?")
        if self.bpc_done >= 1.0:
            return Field(f"BPC {fixed(self.bpc, 4)}", 0, style="bold")
        done = int(self.bpc_done * 100)  # floor: 100% only when done
        return Field(f"BPC {fixed(self.bpc, 4)} so far ({done}% read)", 0, short=f"BPC {fixed(self.bpc, 3)} ({done}%)")

    def render(self) -> Text:
        """The figures, most important first; whole fields drop out where they do not fit.

        Left (in order of what drops last): the position, the byte, the BPC, a pending command,
        the work still running, the bits of the prediction, the lens, the neuron, the trust figure
        (:func:`trust_label`; its short form drops the exponent, and the "as far as checked"). Right: how to
        reach the keys and the edits, then the file names and H.
        """
        width = self.size.width
        left = [Field(f" t {self.cursor:,}/{self.n:,}", 0, style="bold"),
                Field(f"'{byte_label(self.byte)}'", 0)]
        if not math.isnan(self.bits):
            left.append(Field(f"{compact(self.bits)} bits", 3, short=f"{compact(self.bits)}b"))
        left.append(self._bpc_field())
        if self.pending:
            left.append(Field(f" {self.pending} ", 0, style="reverse"))
        if self.work:
            left.append(Field(f"⟳ {self.work}", 2, style="italic"))
        if self.trust:
            left.append(Field(self.trust, 6, short=self.trust.split(", ")[0]))
        left += [Field(f"lens {self.lens}", 4, short=self.lens), Field(f"neuron {self.neuron}", 5, short=f"n{self.neuron}")]
        reserved = f"{toggle_keys(self.edit_rows)} edits"
        line = fit(left, width - len(reserved) - 2, " │ ")
        if line.cell_len + len(reserved) + 2 > width:  # too narrow for the reminder: the figures first
            line = fit(left, width, " │ ")
        right = fit([Field(reserved, 1), Field("? keys", 1), Field(self.model_name, 4), Field(self.text_name, 3),
                     Field(f"H{self.H}" + (" float64" if self.precision == "float64" else ""), 2)], width - line.cell_len - 2, " · ")
        if right.cell_len and line.cell_len + right.cell_len + 2 <= width:
            right.stylize("dim")
            line.append(" " * (width - line.cell_len - right.cell_len - 1))
            line.append_text(right)
        return line


def trust_label(horizon: int | None, lyapunov: float, positions: int, n: int) -> str:
    """The status line's trust figure (see :mod:`factormap.engine.chaos`).

    ``float32 trusted to t<82, λ +0.1114 nats/step``: float32 states leave float64 ones by more than
    the tolerance from t = 82 on, and the largest Lyapunov exponent is +0.1114 nats per step (one
    step reads one byte); λ is given as ``info`` gives it (:func:`fixed`, 4 decimals, the same unit).
    ``float32 trusted throughout`` when they never part (``float32 trusted for t<N, as far as
    checked`` when only the first N positions were checked). The status line's short form is the
    part before the first ", ".

    Args:
        horizon: the trust horizon, or None.
        lyapunov: the largest Lyapunov exponent, nats per byte.
        positions: how many positions were checked.
        n: bytes in the text.
    """
    where = (f"to t<{horizon:,}" if horizon is not None
             else "throughout" if positions >= n else f"for t<{positions:,}, as far as checked")
    return f"float32 trusted {where}, λ {fixed(lyapunov, 4, signed=True)} nats/step"
