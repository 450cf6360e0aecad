"""Pilot tests of every explorer key: each asserts on the app's state and on what is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.tui import motions
from factormap.tui import text_layout as tl
from factormap.tui.widgets.text_pane import TextPane
from tests.app_helpers import APP_TEXT, make_app, screen_text, settle

SIZE = (100, 32)


def cursor_glyph_styles(app) -> list:
    """Styles of the text pane's segments drawn with the cursor style (reverse)."""
    pane = app.query_one(TextPane)
    hits = []
    for y in range(pane.page_rows):
        for seg in pane.render_line(y):
            if seg.style is not None and seg.style.reverse:
                hits.append(seg.text)
    return hits


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def test_l_and_h_step_with_counts_and_move_the_oscilloscope():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        scope = app.query_one("#oscilloscope")
        first_window = (scope.view.t0, scope.view.t1)
        await press(pilot, "l", "l", "l")
        assert app.screen.cursor == 3
        assert cursor_glyph_styles(app) == [tl.GLYPHS[APP_TEXT[3]]]
        assert "t 3/" in screen_text(app)
        await press(pilot, "1", "0", "0", "l")
        assert app.screen.cursor == 103
        assert scope.cursor == 103 and scope.view.t == 103
        assert (scope.view.t0, scope.view.t1) != first_window
        assert scope.view.t0 <= 103 < scope.view.t1
        await press(pilot, "h", "2", "h")
        assert app.screen.cursor == 100
        assert app.query_one("#attribution").attribution.t == 100


async def test_word_and_line_motions():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = APP_TEXT
        await press(pilot, "w")
        assert app.screen.cursor == motions.word_forward(text, 0)
        await press(pilot, "2", "w")
        expect = motions.word_forward(text, motions.word_forward(text, motions.word_forward(text, 0)))
        assert app.screen.cursor == expect
        await press(pilot, "e")
        assert app.screen.cursor == motions.word_end(text, expect)
        here = app.screen.cursor
        await press(pilot, "b")
        assert app.screen.cursor == motions.word_backward(text, here)
        await press(pilot, "dollar_sign")
        assert app.screen.cursor == motions.line_end(text, here)
        assert APP_TEXT[app.screen.cursor + 1] == 0x0A
        await press(pilot, "0")
        assert app.screen.cursor == motions.line_start(text, here)


async def test_gg_G_and_counted_goto():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "G")
        assert app.screen.cursor == len(APP_TEXT) - 1
        assert f"t {len(APP_TEXT) - 1:,}/" in screen_text(app)
        await press(pilot, "g")
        assert app.screen.pending == "g" and "│  g  │" in screen_text(app)  # the status line shows it
        await press(pilot, "g")
        assert app.screen.cursor == 0 and app.screen.pending == ""
        await press(pilot, "4", "2", "g", "g")
        assert app.screen.cursor == 42
        await press(pilot, "7", "G")
        assert app.screen.cursor == 7


async def test_pages_move_by_rows_of_the_text_pane():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(TextPane)
        rows, width = pane.page_rows, pane.row_width
        await press(pilot, "ctrl+f")
        assert app.screen.cursor == tl.move_rows(APP_TEXT, 0, width, rows)
        here = app.screen.cursor
        await press(pilot, "ctrl+d")
        assert app.screen.cursor == tl.move_rows(APP_TEXT, here, width, rows // 2)
        lo, hi = pane.window
        assert lo <= app.screen.cursor < hi
        await press(pilot, "ctrl+u", "ctrl+b")
        assert app.screen.cursor < here


async def test_search_finds_matches_and_n_N_cycle():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        assert app.focused.id == "prompt"
        await pilot.press(*"Anarchism")
        await press(pilot, "enter")
        hits = [i for i in range(len(APP_TEXT)) if APP_TEXT.startswith(b"Anarchism", i)]
        assert app.screen.cursor == hits[0]
        assert app.focused is app.query_one(TextPane)
        assert any(f"{len(hits)} matches of 'Anarchism'" in n.message for n in app._notifications)
        await press(pilot, "n")
        assert app.screen.cursor == hits[1]
        await press(pilot, "N", "N")
        assert app.screen.cursor == hits[-1]          # wrapped around
        underlined = [seg.text for y in range(app.query_one(TextPane).page_rows)
                      for seg in app.query_one(TextPane).render_line(y) if seg.style and seg.style.underline]
        assert "".join(underlined).count("Anarchism") >= 1


async def test_ctrl_j_runs_the_prompt_as_enter_does():
    # Keys typed before the first frame reach the app through a terminal still in cooked mode,
    # which turns Enter's CR into LF: Textual reads it as ctrl+j.
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Anarchism", "ctrl+j")
        await settle(pilot)
        assert app.query_one("#prompt").has_class("-hidden")
        assert app.screen.cursor == APP_TEXT.find(b"Anarchism") > 0
        assert any("matches of 'Anarchism'" in n.message for n in app._notifications)


async def test_search_escapes_and_not_found_notifies():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        await pilot.press(*"\\xff")
        await press(pilot, "enter")
        assert app.screen.cursor == APP_TEXT.index(b"\xff")
        await press(pilot, "slash")
        await pilot.press(*"zzzq")
        await press(pilot, "enter")
        assert any("not found" in n.message for n in app._notifications)


async def test_colon_goes_to_a_position_and_clamps():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon")
        await pilot.press(*"123")
        await press(pilot, "enter")
        assert app.screen.cursor == 123
        assert "t 123/" in screen_text(app)
        await press(pilot, "colon")
        await pilot.press(*"99999")
        await press(pilot, "enter")
        assert app.screen.cursor == len(APP_TEXT) - 1
        assert any("outside" in n.message for n in app._notifications)


async def test_j_k_select_a_neuron_for_the_lens_and_the_ablate_row():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "j", "j", "j", "k")
        assert app.screen.neuron == 2
        assert app.query_one("#interventions").selected_neuron == 2
        assert "neuron 2" in screen_text(app)
        await press(pilot, "k", "k", "k")
        assert app.screen.neuron == app.session.H - 1          # wraps around
        await press(pilot, "v")
        assert f"neuron {app.session.H - 1} activation" in screen_text(app)


async def test_a_x_add_and_remove_the_selected_neuron_from_the_oscilloscope():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        scope = app.query_one("#oscilloscope")
        await press(pilot, "9", "j", "a")
        assert 9 in scope.neurons
        assert 9 in scope.view.neurons
        await press(pilot, "x")
        assert 9 not in scope.neurons


async def test_brackets_jump_to_high_surprisal():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bits = app.session.bits
        threshold = np.percentile(bits, 98, method="inverted_cdf")
        highs = np.flatnonzero(bits >= threshold)
        await press(pilot, "right_square_bracket")
        await settle(pilot)
        assert app.screen.cursor == highs[highs > 0][0]
        await press(pilot, "right_square_bracket")
        assert app.screen.cursor == highs[highs > 0][1]
        await press(pilot, "left_square_bracket")
        assert app.screen.cursor == highs[highs > 0][0]


async def test_v_cycles_the_lens_and_the_legend():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(4):
            seen.append((app.screen.lens, screen_text(app)))
            await press(pilot, "v")
        assert [lens for lens, _ in seen] == ["surprisal", "activation", "attribution", "delta_bits"]
        assert "−log2 p of each byte under the model" in seen[0][1]
        assert "h_t after each byte" in seen[1][1]
        assert "cursor's prediction" in seen[2][1]
        assert "no intervention active" in seen[3][1]
        assert app.screen.lens == "surprisal"


async def test_tab_cycles_focus_and_digits_toggle_interventions_there():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one("#interventions")
        focused = []
        for _ in range(4):
            await press(pilot, "tab")
            focused.append(app.focused.id)
        assert focused == ["oscilloscope", "attribution", "interventions", "text"]
        pane.focus()
        await settle(pilot)
        before = screen_text(app)
        await press(pilot, "4")
        assert pane.active_count == 1
        assert app.screen.pending == ""
        assert app.screen.delta_bits is not None
        assert screen_text(app) != before
        await press(pilot, "4")
        assert pane.active_count == 0


async def test_marks_set_and_jump_back():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "0", "l", "m", "a")
        assert app.screen.marks["a"] == 20
        await press(pilot, "G", "apostrophe", "a")
        assert app.screen.cursor == 20
        await press(pilot, "apostrophe", "apostrophe")
        assert app.screen.cursor == len(APP_TEXT) - 1
        await press(pilot, "apostrophe", "q")
        assert any("mark q is not set" in n.message for n in app._notifications)
        assert app.is_running                         # 'q' after ' completes the mark, it does not quit


async def test_E_exports_the_view_to_a_new_file(tmp_path, monkeypatch):
    from factormap.engine.export import position_arrays

    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "5", "l", "E")
        await press(pilot, "E")
        assert any("exported positions" in n.message for n in app._notifications)
        t0, t1 = app.query_one(TextPane).window
        expect = position_arrays(app.session, t0, t1, app.query_one("#attribution").K)
    files = sorted(tmp_path.glob("*.npz"))
    assert [f.name for f in files] == ["factormap_random_sample_t5-1.npz", "factormap_random_sample_t5.npz"]
    data = np.load(files[1])
    assert int(data["cursor"]) == 5 and data["position"][0] == t0 and data["position"][-1] == t1 - 1
    for name, array in expect.items():
        np.testing.assert_array_equal(data[name], array, err_msg=name)
    np.testing.assert_array_equal(data["states"], app.session.states(t0, t1))
    np.testing.assert_array_equal(data["bits"], app.session.bits[t0:t1])


async def test_z_maximises_the_focused_pane_and_escape_restores():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "z")
        assert app.screen.maximized is app.query_one("#text-box")
        await press(pilot, "escape")
        assert app.screen.maximized is None


async def test_q_quits():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


@pytest.mark.parametrize("key", ["ctrl+c"])
async def test_ctrl_c_quits_during_background_work(key):
    app = make_app(text=APP_TEXT * 200)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running


async def test_c_cycles_the_attribution_quantity_and_the_lens_heat():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4", "0", "l", "v", "v")
        pane = app.query_one(TextPane)
        att = app.query_one("#attribution").attribution
        before = pane._values(*pane.window)
        await press(pilot, "c")
        assert app.query_one("#attribution").mode == "input_attr"
        after = pane._values(*pane.window)
        t0 = pane.window[0]
        expect = np.abs(att.input_attr) / np.abs(att.input_attr).max()
        assert after[40 - t0] == expect[0]
        assert not np.array_equal(np.nan_to_num(before), np.nan_to_num(after))


async def test_a_click_puts_the_cursor_on_the_byte():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(TextPane)
        await pilot.click(TextPane, offset=(4, 1))
        await settle(pilot)
        row1 = pane._rows[1]
        assert app.screen.cursor == tl.at_column(APP_TEXT, row1, pane.row_width, 4)
        assert app.screen.cursor == APP_TEXT.index(b"<title>") + 2


async def test_escape_closes_the_prompt_and_drops_a_pending_count():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        await pilot.press(*"page")
        await press(pilot, "escape")
        assert app.query_one("#prompt").has_class("-hidden")
        assert app.focused is app.query_one(TextPane) and app.screen.cursor == 0
        await press(pilot, "7", "escape", "l")
        assert app.screen.cursor == 1


async def test_every_pane_can_take_the_focus_and_be_maximised():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = set()
        for _ in range(4):
            await press(pilot, "tab")
            seen.add(app.focused.id)
            await press(pilot, "z")
            assert app.screen.maximized is not None
            await press(pilot, "z")
            assert app.screen.maximized is None
        assert seen == {"text", "oscilloscope", "attribution", "interventions"}
