"""The explorer's trust figure and float64 precision, through Pilot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factormap.engine.chaos import chaos
from factormap.engine.model import Model
from factormap.engine.session import Session
from factormap.tui.app import FactormapApp
from factormap.tui.widgets.status_line import trust_label
from tests.app_helpers import APP_TEXT, make_app, screen_text, settle
from tests.naive import random_model_arrays


async def test_status_line_shows_the_trust_horizon_and_the_exponent():
    app = make_app()
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        found = chaos(app.session.model, app.session.text)
        expected = trust_label(found.horizon, found.lyapunov, found.positions, app.session.n)
        status = app.query_one("#status")
        assert status.trust == expected
        assert expected in screen_text(app)
        assert "float64" not in screen_text(app)


def test_trust_label_says_where_float32_stops_holding():
    # λ as info gives it: fixed 4 decimals, in nats/step
    assert trust_label(82, 0.1114, 4096, 4096) == "float32 trusted to t<82, λ +0.1114 nats/step"
    assert trust_label(None, -0.667, 11786, 11786) == "float32 trusted throughout, λ −0.6670 nats/step"
    assert trust_label(None, -0.5, 1 << 20, 5 << 20) == \
        "float32 trusted for t<1,048,576, as far as checked, λ −0.5000 nats/step"


async def test_a_float64_session_is_explored_in_float64():
    model = Model(**random_model_arrays(16, 3, 1.0)).astype(np.float64)
    app = FactormapApp(Session(model, APP_TEXT), Path("random.pt"), Path("sample.txt"))
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        assert app.session.bits.dtype == np.float64
        text = screen_text(app)
        assert "H16 float64" in text
        assert f"BPC {Session(model, APP_TEXT).bpc:.4f}" in text
