"""The footer shows only keys that fit whole (Textual's cut the last one: 'E ex' at 100 columns)."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from factormap.tui.widgets.fitted_footer import FittedFooter
from tests.app_helpers import make_demo_app, screen_text, settle


def _shown(app) -> tuple[list[FooterKey], FooterKey]:
    footer = app.screen.query_one(FittedFooter)
    keys = list(footer.query(FooterKey))
    palette = next(key for key in keys if key.has_class("-command-palette"))
    return [key for key in keys if key is not palette and key.display], palette


@pytest.mark.parametrize("size", [(100, 30), (120, 40), (160, 48)])  # below 30 rows there is no footer
async def test_every_key_in_the_footer_is_shown_whole(size):
    app = make_demo_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for step in ("explorer", "dashboard", "explorer again after a resize"):
            if step == "dashboard":
                await pilot.press("D")
                await settle(pilot, attempts=2000)
            if step.endswith("resize"):
                await pilot.press("escape")
                await pilot.resize_terminal(size[0] - 7, size[1])
                await settle(pilot)
            shown, palette = _shown(app)
            assert shown, step
            assert all(key.region.right <= palette.region.x for key in shown), step
            footer_line = screen_text(app).splitlines()[-1]
            assert all(key.description in footer_line for key in shown if key.description), (step, footer_line)


async def test_a_footer_too_narrow_for_its_keys_leaves_the_last_ones_out_whole():
    app = make_demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(FittedFooter)
        hidden = [key for key in footer.query(FooterKey) if not key.display]
        assert hidden, "at 100 columns the explorer's keys do not all fit"
        await pilot.resize_terminal(240, 30)
        await settle(pilot)
        assert all(key.display for key in footer.query(FooterKey))
