"""Pilot tests of the attribution pane's neuron-targeted mode (``c``, then ``j``/``k`` through its
heat map) and of the contrast target (``:target A B``)."""

from __future__ import annotations

import numpy as np

from factormap.engine.attribution import attribution
from factormap.engine.attribution.unit_flow import flow_map
from factormap.engine.session import Session
from tests.app_helpers import make_app, screen_text, settle
from tests.panes_support import wait_for_workers


async def _attribution(pilot, pane, **wanted):
    for _ in range(200):
        await wait_for_workers(pilot, rounds=1)
        att = pane.attribution
        if att is not None and all(getattr(att, k) == v for k, v in wanted.items()):
            return att
    raise AssertionError(f"no attribution with {wanted}")


async def test_neuron_mode_shows_the_units_gradient_and_j_moves_through_the_map():
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("l", "l", "l", "l", "l", "l", "l", "l", "l", "l")
        await settle(pilot)
        pane = app.screen.query_one("#attribution")
        await pilot.press("c", "c", "c")
        await settle(pilot)
        assert pane.mode == "neuron"
        att = await _attribution(pilot, pane, t=10)
        direct = attribution(Session(app.session.model, app.session.text), 10, pane.K)
        np.testing.assert_allclose(pane.offset_values(att), direct.grads[:, 0], rtol=1e-5, atol=1e-7)
        units = flow_map(direct, 8)[0].tolist()
        text = screen_text(app)
        assert "g_k[0] = ∂ ln p/∂h_0(t−k)" in text and f"h{units[0]} " in text
        await pilot.press("j")
        await settle(pilot)
        expected = units[0] if 0 not in units else units[(units.index(0) + 1) % len(units)]
        assert app.screen.neuron == expected and pane.neuron == expected
        await pilot.press("j")
        await settle(pilot)
        assert app.screen.neuron == units[(units.index(expected) + 1) % len(units)]
        np.testing.assert_allclose(pane.offset_values(att), direct.grads[:, app.screen.neuron], rtol=1e-5, atol=1e-7)
        assert f"▶h{app.screen.neuron}" in screen_text(app)


async def test_contrast_target_is_attributed_and_named_in_the_title():
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("5", "0", "l")
        await settle(pilot)
        pane = app.screen.query_one("#attribution")
        await pilot.press("colon", *"target e a", "enter")
        await settle(pilot)
        att = await _attribution(pilot, pane, t=50, contrast=ord("a"))
        direct = attribution(Session(app.session.model, app.session.text), 50, pane.K, ord("e"), contrast=ord("a"))
        np.testing.assert_allclose(att.grads, direct.grads, rtol=1e-5, atol=1e-7)
        assert "ln p('e') − ln p('a')" in screen_text(app)
        await pilot.press("colon", *"target x", "enter")
        await settle(pilot)
        att = await _attribution(pilot, pane, t=50, target=ord("x"), contrast=None)
        assert "of ln p('x')" in screen_text(app)
        assert "t=50, chosen target 'x'" in screen_text(app) and "predicts 'x'" not in screen_text(app)
        await pilot.press("colon", *"target", "enter")
        await settle(pilot)
        att = await _attribution(pilot, pane, t=50, target=int(app.session.x[51]), contrast=None)
        assert pane.target is None
        await pilot.press("colon", *"target e e", "enter")
        await settle(pilot)
        assert "other byte" in [n.message for n in app._notifications][-1]
