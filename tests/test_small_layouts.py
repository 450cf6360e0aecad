"""At the smallest sizes every pane keeps rows: under 20 rows the text and the oscilloscope share theirs."""

import pytest

from tests.app_helpers import make_app, settle


@pytest.mark.parametrize("size", [(60, 16), (80, 24), (100, 30)])
async def test_the_oscilloscope_has_trace_rows_at_small_sizes(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        scope = app.query_one("#oscilloscope")
        assert scope.size.height >= 5  # at least 4 rows of traces and the byte labels
        assert app.query_one("#text").size.height >= 3 and app.query_one("#interventions").size.height >= 6
