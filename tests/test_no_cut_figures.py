"""No figure is ever cut short on screen (issue 15): every rendered line of every screen, at the three
snapshot sizes and at 60x16, on the demo model and on the reference model (skipped where ../shared is absent),
is scanned for the marks a cut leaves. The scan itself is tested on cut lines, so it cannot pass
by matching nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from factormap.engine.session import Session
from factormap.tui.app import FactormapApp
from tests.app_helpers import make_demo_app, screen_text, settle
from tests.conftest import REF_MODEL, REF_TEXT
from tests.test_snapshots import SIZES, stable_plotext_ticks  # noqa: F401  (a fixture)

CUT_FIGURE = re.compile(
    r"(?:[\d.,]"                  # a number cut: '0.9…', '12,3…', '0.…'
    r"|[=:±]\s?"                  # a value cut away whole: '= …', ': …', '±…'
    r"|(?<![\w)\]'])[+\-−]"       # a sign with nothing after it: '+…', '−…'
    r"|\d\s?[^\W\d]{1,4}"         # a number whose unit is cut: '0.313 bi…', '7 na…'
    r")…"
    r"(?!\s?[+\-−]?\d)"           # but 'a … b' is a range, not a cut
)
"""The marks of a figure cut short. A rounded compact form never ends in ``…``; only a cut does."""


WORK_UNDER_WAY = ("computing", "drawing", "running", "the whole text", "its readout", "the prediction")
"""How the app's messages of work under way end before their ``…`` (the one known set of phrases
that may end in a word and ``…``)."""
CUT_PHRASE = re.compile(
    r"(?P<before>.*?)[^\W\d]…"       # a word ending in '…'
    r"(?=\s*(?:[\u2500-\u259f]|$))"  # against a border (box drawing, block elements) or the line's end
)
"""A phrase cut short against a pane's border: Textual ends a border title or a line that is too
long with ``…`` (``oscilloscope  a/x add/d…``), so a word directly followed by ``…`` there is a cut,
unless it is one of :data:`WORK_UNDER_WAY`. (A line cut without ``…``, by a widget that clips, leaves
no mark the scan could read; every fitted line goes through fields.fit instead.)"""


def _cut_phrase(line: str) -> bool:
    return any(not (m.group(0)[:-1].endswith(WORK_UNDER_WAY)) for m in CUT_PHRASE.finditer(line))


def cut_lines(text: str) -> list[str]:
    """The lines of ``text`` that hold a figure, or a phrase against a border, cut short."""
    return [line for line in text.splitlines() if CUT_FIGURE.search(line) or _cut_phrase(line)]


@pytest.mark.parametrize("line", [
    "│ 1 [x] −wl step   +1.36  +8.60   +0.9… │", "max |·| 0.00…", "Δwin +10.1…", "bits 0.313 bi…",
    "max |·| = …", "p(e): …", "band ±…", "ΔBPC +…", "r = −…", "t 12/2,6…", "0.…", "7 na…",
    "╭─ oscilloscope  a/x add/d… ──────╮", "│ interventions  i1–i6 to… │", "wl=9: 2.14 · enter: first…",
    "╰── h3: r = +0.2 · enter: worst at… ─╯",
])
def test_the_scan_finds_a_figure_cut_short(line):
    assert cut_lines(f"ok line\n{line}\nok") == [line]


@pytest.mark.parametrize("line", [
    "band +6.64 … +7.10", "ΔBPC +6.992 (band +6.604 … +7.273, chaotic)", "drawing…",
    "attributing the prediction…", "h[60] x h[37]  t=12", "max |·| 0.00903 at k=12", "p(e)=0.00012",
    "write-in oracle u_wl", "a…b", "(…)", "│ computing… │", "drawing…", "│inspecting the whole text…    │",
    "╭─ oscilloscope ─╮", "│ causal cost: running…", "word… and more",
])
def test_the_scan_passes_whole_figures(line):
    assert cut_lines(line) == []


async def _press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot, attempts=2000)


WALK = (
    ("explorer", "ExplorerScreen", ("1", "2", "l", "i", "1", "i", "2")),  # the snapshot's: t=12, edits 1, 2 on
    *((f"lens-{n}", "ExplorerScreen", ("v",)) for n in (1, 2, 3)),  # activation, attribution, Δbits
    ("inspector", "InspectorScreen", ("v", "I")),  # under surprisal again: the neuron over the whole text
    ("neuron-mode", "ExplorerScreen", ("escape", "i", "1", "i", "2", "3", "8", "l", "c", "c", "c")),  # t=50
    ("contrast", "ExplorerScreen", ("c", "colon", *"target", "space", "e", "space", "a", "enter")),
    ("dashboard", "DashboardScreen", ("D",)),
    ("help", "HelpScreen", ("escape", "question_mark")),
)
"""Every screen and pane state scanned, in the order one app session walks through them (state, the
screen it shows, the keys from the state before): the snapshot screens (explorer, dashboard, help),
the explorer under each lens, the inspector, the attribution pane's neuron mode (edits off, t=50)
and the contrast ``:target e a``."""


def _reference_app() -> FactormapApp:
    if not (REF_MODEL.is_file() and REF_TEXT.is_file()):
        pytest.skip("../shared/reference is absent")
    from factormap.engine.model import load_model

    return FactormapApp(Session(load_model(REF_MODEL), REF_TEXT.read_bytes()), Path(REF_MODEL), Path(REF_TEXT))


MODELS = {"demo": make_demo_app, "reference": _reference_app}
"""The apps scanned: the shipped demo, and the research's reference model where it exists."""
SCAN_SIZES = SIZES | {"60x16": (60, 16)}
"""The snapshot sizes and the smallest the app draws at."""


@pytest.mark.parametrize("size", SCAN_SIZES)
@pytest.mark.parametrize("model", MODELS)
async def test_no_figure_is_cut_short(stable_plotext_ticks, model, size):
    """One app session per model and size walks through :data:`WALK` and scans the screen after
    each step (one session for all nine states: a session costs seconds of start-up and compiles)."""
    app = MODELS[model]()
    cut: dict[str, list[str]] = {}
    async with app.run_test(size=SCAN_SIZES[size]) as pilot:
        app.query_one("#prompt").cursor_blink = False
        await settle(pilot)
        for state, screen, keys in WALK:
            await _press(pilot, *keys)
            assert type(app.screen).__name__ == screen, (state, app.screen)
            if lines := cut_lines(screen_text(app)):
                cut[state] = lines
    assert cut == {}, "\n".join(f"{state}: {line}" for state, lines in cut.items() for line in lines)
