"""Search messages name the pattern as typed, once escaped; an unknown escape is refused in words."""

import pytest

from factormap.tui import motions
from tests.app_helpers import make_app, settle


@pytest.mark.parametrize("pattern", [r"\q", r"\x4", "end\\", r"\xzz"])
def test_an_unknown_escape_is_refused(pattern):
    with pytest.raises(ValueError, match="unknown escape"):
        motions.parse_pattern(pattern)


async def test_found_and_not_found_name_the_pattern_the_same_way():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        messages = []
        shown = app.notify

        def recording(message, *args, **kwargs):   # notifications expire in 3 s: on a slow machine
            messages.append(str(message))          # they would be gone before they are read
            shown(message, *args, **kwargs)

        app.notify = recording
        for pattern in ("cafés", "page", r"\q"):
            await pilot.press("slash")
            await settle(pilot)
            app.query_one("#prompt").value = pattern  # typed at once, as a paste would
            await pilot.press("enter")
            await settle(pilot)
        assert "not found: 'cafés'" in messages
        assert any(m.endswith("of 'page'") for m in messages)
        assert any(m.startswith("unknown escape '\\q'") for m in messages)
        assert app.screen.needle == b"page"  # the refused pattern left the last search in place
