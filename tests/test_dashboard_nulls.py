"""The dashboard's intervention chart has a second page: each direction edit against its matched
null, the null drawn as a band; its figures are the report's."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from factormap.engine.session import Session
from factormap.tui.commands import report_interventions
from tests.app_helpers import make_app
from tests.test_dashboard import chart, open_dashboard


async def test_intervention_chart_pages_to_the_nulls():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(pilot)
        pages = chart(app, "interventions").specs
        assert len(pages) == 2 and "random unit directions" in pages[1].title
        nulls = app.screen.data.parts["nulls"].nulls
        parser = argparse.ArgumentParser()
        report_interventions.add_arguments(parser)
        figures = report_interventions.compute(Session(app.session.model, app.session.text),
                                               parser.parse_args([]), None)
        keys = [k for k in figures["rows"] if f"{k}.null_mean" in figures]
        assert keys and len(pages[1].labels) == len(keys)
        np.testing.assert_allclose(pages[1].values("ΔBPC"), [figures[f"{k}.delta_bpc"] for k in keys], rtol=1e-9)
        np.testing.assert_allclose(pages[1].band[0], [nulls[k].min for k in keys])
        np.testing.assert_allclose(pages[1].band[1], [nulls[k].max for k in keys])
        for k, note in zip(keys, pages[1].notes):
            assert f"percentile {figures[f'{k}.percentile']:.0f}" in note
            assert nulls[k].mean == pytest.approx(figures[f"{k}.null_mean"])
        assert "nulls" in app.screen.data.to_dict()
