"""The app the dashboard snapshot draws: the demo model on the demo text."""

import plotext._utility

from factormap.engine.session import Session
from factormap.tui.app import FactormapApp
from factormap.tui.commands.common import load_inputs
from factormap.tui.demo import demo_paths

# As in snapshot_app.py: plotext drops duplicate ticks through a set, which depends on PYTHONHASHSEED.
plotext._utility.no_duplicates = lambda data: list(dict.fromkeys(data))

_model_path, _text_path = demo_paths()
app = FactormapApp(Session(*load_inputs(str(_model_path), str(_text_path))), _model_path, _text_path)
