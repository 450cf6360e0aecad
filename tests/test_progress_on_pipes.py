"""The headless commands' progress displays write nothing where stderr is no terminal: rich's live
display writes a newline when it stops there, a blank line before an error line."""

import io
import sys

from factormap.tui.commands.common import stderr_progress
from factormap.tui.commands.sweep_view import SweepProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _shown(monkeypatch, stream) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    with stderr_progress() as bar:
        bar.update(bar.add_task("pass", total=1.0), completed=0.5)
    with SweepProgress(3, 1) as sweep:
        sweep.started()
        sweep.advance({"edit": "ablate.1", "delta_bpc": 0.25})
    return stream.getvalue()


def test_a_pipe_gets_nothing(monkeypatch):
    assert _shown(monkeypatch, io.StringIO()) == ""


def test_a_terminal_gets_the_bars(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in _shown(monkeypatch, _Terminal())  # drawn, then cleared (transient)
