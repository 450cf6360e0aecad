"""The three data panes the explorer mounts, built by their own modules."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Static

from factormap.engine.session import Session


def data_panes(session: Session) -> tuple[Widget, Widget, Widget]:
    """The oscilloscope, attribution and interventions panes (ids as in the app contract).

    A pane whose module is not installed yet is a notice saying so, never made-up figures.
    """
    panes = []
    for pane_id, module, cls in (("oscilloscope", "oscilloscope", "Oscilloscope"),
                                 ("attribution", "attribution_pane", "AttributionPane"),
                                 ("interventions", "interventions_pane", "InterventionsPane")):
        try:
            mod = __import__(f"factormap.tui.widgets.{module}", fromlist=[cls])
            panes.append(getattr(mod, cls)(session, id=pane_id))
        except ImportError:
            panes.append(Static(f"{pane_id}: not built yet", id=pane_id, classes="pane"))
    return tuple(panes)
