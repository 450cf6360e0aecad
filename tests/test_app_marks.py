"""Marks: m{letter} sets one, '{letter} jumps to it; a–z and A–Z are 52 distinct marks, and any other
printable key after m or ' says so instead of being dropped silently."""

from tests.app_helpers import make_app, settle

SIZE = (100, 32)


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def test_uppercase_marks_are_marks_of_their_own():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "1", "5", "l", "m", "A", "5", "l", "m", "a")
        assert app.screen.marks == {"A": 15, "a": 20}
        await press(pilot, "G", "apostrophe", "A")
        assert app.screen.cursor == 15
        await press(pilot, "apostrophe", "a")
        assert app.screen.cursor == 20
        await press(pilot, "apostrophe", "Z")
        assert any("mark Z is not set" in n.message for n in app._notifications)


async def test_a_key_that_names_no_mark_says_marks_are_letters():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3", "l", "m", "1")
        assert app.screen.marks == {} and app.screen.pending == ""
        await press(pilot, "apostrophe", "full_stop")
        said = [n.message for n in app._notifications if "marks are" in n.message]
        assert said == ["marks are the letters a–z and A–Z, not '1'", "marks are the letters a–z and A–Z, not '.'"]
        await press(pilot, "m", "escape")  # escape cancels quietly
        assert len([n for n in app._notifications if "marks are" in n.message]) == 2
        assert app.screen.cursor == 3


async def test_a_key_that_types_nothing_cancels_a_prefix_quietly():
    # an arrow's character is empty, and "" is in every string: it set a mark named "", and after
    # i it raised int("") (found by the monkey test)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3", "l", "m", "left", "apostrophe", "down", "i", "right")
        assert app.screen.marks == {} and app.screen.pending == "" and app.screen.cursor == 3
        assert not [n.message for n in app._notifications if n.severity != "information"]
        await press(pilot, "m", "a", "l", "apostrophe", "a")
        assert app.screen.cursor == 3
