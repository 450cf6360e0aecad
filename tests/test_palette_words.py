"""The command palette finds an action by the words a person would type, and quits from one entry."""

from __future__ import annotations

import pytest
from textual.command import CommandList

from tests.app_helpers import make_app, settle


async def _hits(pilot, words: str) -> list[str]:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*words)
    await pilot.pause(0.5)
    await settle(pilot)
    options = pilot.app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


@pytest.mark.parametrize("words", ["export", "save"])
async def test_export_is_found_by_export_and_by_save(words):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        hits = await _hits(pilot, words)
        assert hits and "Export (save) the view" in hits[0]


async def test_there_is_one_quit_entry():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        hits = await _hits(pilot, "quit")
        assert sum("quit" in hit.lower() for hit in hits) == 1


async def test_the_toggles_name_their_edit():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        hits = await _hits(pilot, "toggle intervention")
        assert any("Toggle intervention 1: −u_wl every step" in hit for hit in hits)
        assert any("ablate h[j]" in hit for hit in hits)


@pytest.mark.parametrize("word", ["record", "write", "target", "feature", "features", "unfeature"])
async def test_each_prompt_word_opens_the_prompt_with_it_typed(word):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        hits = await _hits(pilot, f":{word} ")
        assert hits and hits[0].startswith(f":{word} "), hits
        await pilot.press("enter")
        await settle(pilot)
        prompt = app.screen.query_one("#prompt")
        assert not prompt.has_class("-hidden") and prompt.value == f"{word} " and app.screen.focused is prompt
        assert prompt.cursor_position == len(prompt.value)


@pytest.mark.parametrize("word", ["record", "write", "target"])
async def test_a_prompt_word_typed_alone_finds_its_command_first(word):
    """Before the ':' prompt's own entry, whose description names every word (found by QA: 'record')."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        hits = await _hits(pilot, word)
        assert hits and hits[0].startswith(f":{word} "), hits
