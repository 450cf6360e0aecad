"""The app the snapshot tests draw: the demo model on the demo text."""

import plotext._utility

from tests.app_helpers import make_demo_app

# plotext drops duplicate (row, label) ticks through a set, so on a plot of two or three rows
# the surviving y label depends on PYTHONHASHSEED; keep the first one, as its own comment suggests.
plotext._utility.no_duplicates = lambda data: list(dict.fromkeys(data))

app = make_demo_app()
