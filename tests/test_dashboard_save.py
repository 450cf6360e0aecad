"""The dashboard's S saves every chart, not only those on screen (at 80x24 most are scrolled away)."""

from __future__ import annotations

import html

from factormap.tui.widgets.dashboard_specs import CHARTS
from tests.app_helpers import make_app, settle


async def test_save_at_80x24_holds_every_chart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot, attempts=2000)
        await pilot.press("S")
        await settle(pilot)
    (svg,) = tmp_path.glob("*.svg")
    text = html.unescape(svg.read_text()).replace("\xa0", " ")
    for placeholder in CHARTS.values():
        concept = placeholder.split(":")[0]
        assert f"{concept}:" in text, concept
