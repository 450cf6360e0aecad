"""Pilot tests: a prompt opened and closed inside one burst of keys keeps every key in its place.

A terminal hands over what was typed fast or pasted in one read; the app takes each key through the
key grammar before the next (see :mod:`factormap.tui.screens.explorer_grammar`), but the widgets it
touches (the prompt's Input taking the focus) handle their own events later, on their own queues.
"""

from __future__ import annotations

from textual import events

from tests.app_helpers import make_demo_app, settle

SIZE = (80, 24)
KEY_NAMES = {"/": "slash", ":": "colon", "=": "equals_sign", "[": "left_square_bracket",
             "]": "right_square_bracket", "-": "minus", " ": "space", "\r": "enter"}
"""Textual's names of the keys typed here that are not their own character."""
BURST = "G/Tide\rn:1000\r10l"
"""QA's burst: the end, a search and the next match, a go-to, then ten bytes on."""


def key_event(character: str) -> events.Key:
    """The event the terminal's byte ``character`` becomes."""
    return events.Key(KEY_NAMES.get(character, character), character)


async def test_a_burst_with_two_prompts_posted_at_once_ends_where_it_says():
    app = make_demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for character in BURST:              # as the driver posts one read: no pause between keys
            app.post_message(key_event(character))
        await settle(pilot)
        assert app.screen.cursor == 1010
        assert app.screen.pending == ""


async def test_keys_typed_before_the_prompt_has_handled_its_focus_are_kept():
    """The worst order of one burst: the Input handles its Focus after the first key typed into it.

    Before the prompt stopped selecting its text on focus, ``:1000`` went to position 0 (the
    selected ``1`` was replaced by the ``0`` after it) and ``:feature digits=[0-9]`` lost its start.
    """
    app = make_demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        for typed in (":1", "000\r10l"):
            for character in typed:
                await app.on_event(key_event(character))
            await pilot.pause()              # the Input's Focus (and anything else queued) runs here
        await settle(pilot)
        assert screen.cursor == 1010
        for typed in (":f", "eature digits=[0-9]"):
            for character in typed:
                await app.on_event(key_event(character))
            await pilot.pause()
        assert screen.query_one("#prompt").value == "feature digits=[0-9]"
        await app.on_event(key_event("\r"))
        await settle(pilot)
        assert screen.query_one("#prompt").has_class("-hidden")
        assert screen.cursor == 1010
