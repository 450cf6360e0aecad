"""The dashboard: the research's charts for the whole text, computed in the background.

Opened with ``D`` (or from the command palette) over the explorer. Every chart is a
:class:`~factormap.tui.widgets.charts.Chart`; tab moves between them, arrows (h/l) select a bar or
point, j/k page through a chart's pages, and enter closes the dashboard with the selected item's
representative position, which the explorer jumps to. ``S`` saves the screen as SVG and the numbers
as JSON side by side. The layout follows the terminal: a grid of charts from
:data:`WIDE_COLUMNS` columns on, otherwise one chart under the other, scrolling.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from factormap.engine.errors import OutputError
from factormap.engine.output import atomic_write_bytes
from factormap.engine.session import Session
from factormap.tui import jobs
from factormap.tui.dashboard_jobs import (
    PARTS,
    DashboardData,
    PartFailed,
    PartProgress,
    PartReady,
    compute_parts,
)
from factormap.tui.fields import Field, fit
from factormap.tui.json_form import json_ready
from factormap.tui.screens.help import GLOBAL_KEYS, QUIT_KEY, HelpScreen, key_table
from factormap.tui.widgets import dashboard_specs as specs
from factormap.tui.widgets.charts import Chart
from factormap.tui.widgets.fitted_footer import FittedFooter

SAVE_SIZE = (100, 20)
"""Cells of each chart page in the saved SVG."""
WIDE_COLUMNS = 140
"""From this many columns on, the charts sit in a grid."""
WIDEST_COLUMNS = 210
"""From this many columns on, the grid has three columns."""

DASHBOARD_BINDINGS: list[Binding] = [
    Binding("escape,D", "close", "back", tooltip="Back to the explorer", id="dashboard-close"),
    Binding("S", "save", "save", tooltip="Save the screen as .svg and the dashboard's numbers as .json",
            id="dashboard-save"),
    Binding("question_mark", "help", "help", key_display="?", tooltip="Every key of the dashboard",
            id="dashboard-help"),
    QUIT_KEY,
]
"""The dashboard's own keys (the charts add h/l, j/k and enter; tab moves between charts)."""

PART_WORK = {"breakdown": "the BPC breakdown", "factor_map": "the factor map", "peaks": "each neuron's peak",
             "sparsity": "the gradient sparsity", "attribution": "the gradient growth",
             "interventions": "the interventions", "nulls": "the edits' matched nulls"}
"""What each part of :data:`~factormap.tui.dashboard_jobs.PARTS` computes, as the head says it."""

def work_under_way(name: str | None, part: int, parts: int) -> str:
    """What the head says while part ``part`` of ``parts`` (counted from 1), ``name``, is computed."""
    return f"computing {PART_WORK.get(name, 'the charts')}, part {part} of {parts}"


_DATA: weakref.WeakKeyDictionary[Session, DashboardData] = weakref.WeakKeyDictionary()


def dashboard_data(session: Session) -> DashboardData:
    """The results computed so far for ``session`` (kept while the session lives)."""
    if session not in _DATA:
        _DATA[session] = DashboardData()
    return _DATA[session]


class DashboardHelp(HelpScreen):
    """The ``?`` screen of the dashboard: its keys and the charts' keys."""

    def compose(self) -> ComposeResult:
        """The table of keys inside a scrolling frame."""
        with VerticalScroll(id="help-frame") as frame:
            frame.border_title = "dashboard keys  (escape closes, q quits)"
            yield Static(key_table(DASHBOARD_BINDINGS + Chart.BINDINGS + GLOBAL_KEYS), id="help-table")


class DashboardHead(Widget):
    """The dashboard's first line: what is charted and the work under way, fitted to the width
    (the text's length, then H, then the text's name drop out whole; the model's name stays and the
    work is only shortened).

    Attributes:
        work: the computation under way ("" when every chart is drawn).
    """

    work: reactive[str] = reactive("")

    def __init__(self, session: Session, model_name: str, text_name: str, *, id: str | None = None) -> None:
        """Args:
            session: the model and text charted.
            model_name: the model file's name.
            text_name: the text file's name.
            id: the widget's id.
        """
        super().__init__(id=id)
        self.session, self.model_name, self.text_name = session, model_name, text_name

    def render(self) -> Text:
        """``dashboard · MODEL on TEXT · H=… · n bytes · computing …, part i of n``."""
        s = self.session
        fields = [Field("dashboard", 0), Field(self.model_name, 0), Field(f"on {self.text_name}", 2, separator=" "),
                  Field(f"H={s.H}", 3), Field(f"{s.n:,} bytes", 4)]
        if self.work:
            fields.append(Field(self.work, 0, short=self.work.split(", ")[-1]))
        return fit(fields, self.size.width, " · ")


class DashboardScreen(Screen[int | None]):
    """Whole-text charts; dismissed with a text position to jump to, or None.

    Attributes:
        data: the engine's results so far (shared by every dashboard of the session).
    """

    CSS_PATH = Path(__file__).parent.parent / "dashboard.tcss"
    BINDINGS = DASHBOARD_BINDINGS
    AUTO_FOCUS = "Chart"

    def __init__(self, session: Session, model_path: Path, text_path: Path, cursor: int) -> None:
        """Args:
            session: the model and text.
            model_path: the model file (names the saved files; never written).
            text_path: the text file (names the saved files; never written).
            cursor: the explorer's position (names the saved files).
        """
        super().__init__()
        self.session = session
        self.model_path, self.text_path, self.cursor = Path(model_path), Path(text_path), cursor
        self.data = dashboard_data(session)
        self._todo: list[str] = []
        self._failed: set[str] = set()

    def compose(self) -> ComposeResult:
        """A status line with a progress bar, the charts, the footer."""
        yield DashboardHead(self.session, self.model_path.name, self.text_path.name, id="dash-head")
        with VerticalScroll(id="dash-charts"):
            for chart_id, placeholder in specs.CHARTS.items():
                chart = Chart(placeholder, id=f"chart-{chart_id}")
                concept, _, quantity = placeholder.partition(": ")  # the concept stays, the formula drops whole
                chart.set_title(Field(concept), Field(quantity, 1, separator=": "))
                yield chart
        yield ProgressBar(total=1.0, show_eta=False, id="dash-progress")
        yield FittedFooter()

    def on_mount(self) -> None:
        """Draw what is known; compute the rest in a thread worker."""
        for name in PARTS:
            if name in self.data.parts:
                self._show(name)
        self._todo = self.data.missing()
        if self._todo:
            self.run_worker(lambda: compute_parts(self.session, self._todo, self.post_message, self._cancelled),
                            thread=True, group="dashboard", exclusive=True, exit_on_error=False,
                            name="dashboard")
        self._progress(None, 1.0)

    def on_resize(self, event: events.Resize) -> None:
        """Grid of charts when wide, a scrolling stack otherwise."""
        self.set_class(event.size.width >= WIDE_COLUMNS, "-wide")
        self.set_class(event.size.width >= WIDEST_COLUMNS, "-widest")

    @staticmethod
    def _cancelled() -> bool:
        return get_current_worker().is_cancelled

    # -- results --------------------------------------------------------------------------------
    def on_part_progress(self, message: PartProgress) -> None:
        """Advance the progress bar."""
        self._progress(message.name, message.fraction)

    def on_part_ready(self, message: PartReady) -> None:
        """Keep the result and draw its charts."""
        self.data.parts[message.name] = message.result
        self._show(message.name)
        self._progress(None, 1.0)

    def on_part_failed(self, message: PartFailed) -> None:
        """Say why on the part's charts and in a notification; the other parts go on."""
        self._failed.add(message.name)
        for chart_id in specs.PART_CHARTS[message.name]:
            self.query_one(f"#chart-{chart_id}", Chart).set_specs([], empty_note=message.error)
        self.notify(f"dashboard {message.name}: {message.error}", severity="warning", timeout=8)
        self._progress(None, 1.0)

    def _progress(self, name: str | None, fraction: float) -> None:
        todo = self._todo or [None]
        done = sum(1 for part in todo if part in self.data.parts or part in self._failed)
        if name is not None and name not in self.data.parts:
            done += fraction
        bar = self.query_one(ProgressBar)
        bar.update(progress=done / len(todo))
        complete = all(part in self.data.parts or part in self._failed for part in PARTS)
        bar.set_class(complete, "-hidden")
        part = min(int(done) + 1, len(todo))   # the part under way, counted from 1
        work = "" if complete else work_under_way(name, part, len(todo))
        self.query_one(DashboardHead).work = work

    def _show(self, name: str) -> None:
        parts, text = self.data.parts, self.session.text
        if name == "factor_map":
            pages = specs.factor_map_specs(parts[name]) | specs.neuron_r_specs(parts[name][0], parts.get("peaks"))
        elif name == "peaks":
            if "factor_map" not in parts:
                return
            pages = specs.neuron_r_specs(parts["factor_map"][0], parts[name])
        elif name == "breakdown":
            pages = specs.breakdown_specs(parts[name], text)
        elif name == "attribution":
            pages = specs.attribution_specs(parts[name], self.session.n - 1)
        elif name == "sparsity":
            pages = specs.sparsity_specs(parts[name])
        else:
            if "interventions" not in parts:
                return
            pages = specs.interventions_specs(parts["interventions"], parts.get("nulls"))
        for chart_id, chart_pages in pages.items():
            self.query_one(f"#chart-{chart_id}", Chart).set_specs(chart_pages)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed computation becomes a notification, never a traceback."""
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", timeout=8)

    # -- keys -------------------------------------------------------------------------------------
    def on_chart_jump(self, message: Chart.Jump) -> None:
        """Close the dashboard; the explorer moves to the position."""
        self.dismiss(message.position)

    def action_close(self) -> None:
        """Back to the explorer without moving."""
        self.dismiss(None)

    def action_help(self) -> None:
        """Show every key of the dashboard."""
        self.app.push_screen(DashboardHelp())

    def whole_svg(self, title: str) -> str:
        """The whole dashboard as an SVG: every chart (and every page of one), each at
        :data:`SAVE_SIZE`, one below another, not only those on screen."""
        from io import StringIO

        from rich.console import Console

        width, height = SAVE_SIZE
        console = Console(record=True, width=width, file=StringIO(), color_system="truecolor", force_terminal=True)
        for chart in self.query(Chart):
            console.print(chart.figure(width, height), end="")
        return console.export_svg(title=title)

    def action_save(self) -> None:
        """Write the screen (SVG) and the numbers (JSON) to new files named after the inputs."""
        svg = self.whole_svg(f"factormap dashboard: {self.model_path.name} on {self.text_path.name}")
        numbers = {"model": self.model_path.name, "text": self.text_path.name, "position": self.cursor,
                   "text_bytes": self.session.n, "hidden_size": self.session.H} | self.data.to_dict()
        try:
            svg_path = jobs.reserve_export_path(self.model_path, self.text_path, self.cursor,
                                                suffixes=(".svg", ".json"))
        except OutputError as exc:
            self.notify(f"save: {exc}", severity="error", timeout=8)
            return
        json_path = svg_path.with_name(svg_path.name[:-len(".svg")] + ".json")

        def job() -> None:
            try:
                atomic_write_bytes(json_path, json.dumps(json_ready(numbers), indent=1).encode())
                atomic_write_bytes(svg_path, svg.encode())
            finally:
                jobs.release_export(json_path, svg_path)  # the claimed names a failed write left empty
            self.app.call_from_thread(self.notify, f"saved {svg_path.name} and {json_path.name}")

        self.run_worker(job, thread=True, group="dashboard-save", exit_on_error=False, name="save")
