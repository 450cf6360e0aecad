"""Notifications show what the user typed as written, never as Textual markup."""

import pytest

from tests.app_helpers import make_app
from tests.pilot_support import settle


@pytest.mark.parametrize("typed", ["/zz[/b]", "/[b]qq", ":feature digits=[0-9]"])
async def test_text_typed_with_brackets_is_shown_as_typed(typed):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*typed, "enter")
        await settle(pilot)
        if typed.startswith(":feature"):
            await pilot.press(*":features", "enter")
            await settle(pilot)
        shown = " ".join(n.message for n in app._notifications)
        assert "[" in shown and app.is_running
        assert not any(n.markup for n in app._notifications)
