"""The dashboard charts' y-axis ticks are written by fields.tick (− for a negative), not plotext."""

from __future__ import annotations

import numpy as np
from textual.app import App

from factormap.tui.widgets.charts import Chart, ChartSpec, nice_ticks
from tests.app_helpers import screen_text, settle


def test_nice_ticks_are_round_steps_within_the_range():
    assert nice_ticks(-5.79, 5.55, 5) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert nice_ticks(-1.31, 0.4, 4) == [-1.0, -0.5, 0.0]
    assert nice_ticks(0.0, 0.0713, 5) == [0.0, 0.02, 0.04, 0.06]
    assert nice_ticks(3.0, 3.0, 5) == [3.0]


async def test_a_charts_negative_y_ticks_carry_the_minus_sign():
    class ChartApp(App):
        def compose(self):
            yield Chart("effects", id="chart")

    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(Chart)
        chart.set_specs([ChartSpec("ΔBPC of each edit", ("a", "b", "c"),
                                   (("ΔBPC", np.array([-5.79, 0.4, 5.55])),))])
        await settle(pilot)
        text = screen_text(app)
        assert "−4" in text and "−2" in text, text
        axis = [line.split("┤")[0] for line in text.splitlines() if "┤" in line]
        assert axis and not any("-" in label for label in axis), axis


def test_categories_that_do_not_all_fit_are_numbered_and_an_ordered_axis_is_thinned():
    pairs = tuple(f"feature{i}·feature{i + 1}" for i in range(9))
    values = (("cos", np.zeros(9)),)
    assert ChartSpec("cosines", pairs, values).numbered(60)
    assert not ChartSpec("cosines", ("a·b", "b·c"), (("cos", np.zeros(2)),)).numbered(60)
    assert not ChartSpec("r", tuple(f"h{j}" for j in range(128)), (("|r|", np.zeros(128)),), ordered=True).numbered(60)
    assert not ChartSpec("ratio", pairs, values, style="line").numbered(60)


async def test_a_numbered_chart_labels_every_bar_and_its_note_says_the_number():
    class ChartApp(App):
        def compose(self):
            yield Chart("effects", id="chart")

    labels = tuple(f"edit number {i}" for i in range(1, 10))
    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(Chart)
        chart.set_specs([ChartSpec("ΔBPC of each edit", labels, (("ΔBPC", np.arange(1.0, 10.0)),),
                                   notes=tuple(f"the edit {i}" for i in range(1, 10)))])
        chart.selected = 4
        await settle(pilot)
        text = screen_text(app)
        lines = text.splitlines()
        axis = lines[next(i for i, line in enumerate(lines) if "└" in line) + 1]
        assert axis.split() == [str(i) for i in range(1, 10)], text
        assert "edit number" not in text, text
        assert "5: the edit 5" in chart.border_subtitle
