"""The app the snapshot tests draw: the demo model on the demo text."""

from tests.app_helpers import make_demo_app

app = make_demo_app()
