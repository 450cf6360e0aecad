"""Every dashboard chart draws the same strips each time it is drawn (resizes, focus, redraws)."""

from __future__ import annotations

from textual.geometry import Region

from factormap.tui.widgets.charts import Chart
from factormap.tui.widgets.dashboard_specs import CHARTS
from tests.app_helpers import make_demo_app, settle
from tests.test_dashboard import open_dashboard


def drawn(chart: Chart) -> list[tuple]:
    """The chart's strips (text and style of every segment), freshly rendered."""
    chart.refresh()
    return [tuple(strip) for strip in chart.render_lines(Region(0, 0, *chart.size))]


async def test_redrawing_every_dashboard_chart_three_times_gives_the_same_strips():
    app = make_demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_dashboard(pilot)
        charts = list(app.screen.query(Chart))
        assert [c.id for c in charts] == [f"chart-{name}" for name in CHARTS]
        for chart in charts:
            assert chart.spec is not None and chart.spec.labels, chart.id
            first = drawn(chart)
            await pilot.pause()
            assert drawn(chart) == first, chart.id
            await pilot.pause()
            assert drawn(chart) == first, chart.id


async def test_after_resizes_each_chart_draws_as_it_first_did_at_160x48():
    """A log axis took the log of its own log at each build (math domain error at the third), and
    the first draw, laid out before the chart had a width, labelled one x tick only."""
    app = make_demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_dashboard(pilot)
        first = {c.id: drawn(c) for c in app.screen.query(Chart)}
        for size in [(100, 32), (200, 60), (150, 48), (160, 48)]:
            await pilot.resize_terminal(*size)
            await settle(pilot)
        assert {c.id: drawn(c) for c in app.screen.query(Chart)} == first
        assert any(c.spec.ylog for c in app.screen.query(Chart))
