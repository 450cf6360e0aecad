"""Pilot tests of the lenses' tints, the Δbits jumps, kernel progress and errors as notifications."""

from __future__ import annotations

import numpy as np

from factormap.tui.messages import KernelsWarming
from factormap.tui.widgets.text_pane import TextPane
from tests.app_helpers import APP_TEXT, make_app, screen_text, settle

SIZE = (100, 32)


async def test_surprisal_and_activation_tint_each_byte_by_its_value():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(TextPane)
        t0, t1 = pane.window
        values = pane._values(t0, t1)
        np.testing.assert_array_equal(values[1:], app.session.bits[t0:t1 - 1])   # byte p: bits_{p-1}
        await pilot.press("3", "j", "v")
        await settle(pilot)
        values = pane._values(t0, t1)
        np.testing.assert_allclose(values, app.session.states(t0, t1)[:, 3])
        row = list(pane.render_line(0))
        assert row[0].style.bgcolor is not None                                # tinted from the states


async def test_attribution_lens_heats_the_last_K_bytes_before_the_cursor():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8", "0", "l", "v", "v")
        await settle(pilot)
        pane = app.query_one(TextPane)
        att = app.query_one("#attribution").attribution
        values = pane._values(*pane.window)
        t0 = pane.window[0]
        norms = att.grad_norms / att.grad_norms.max()
        for k in range(att.K + 1):
            if 80 - k >= t0:
                assert values[80 - k - t0] == norms[k]
        assert np.isnan(values[81 - t0])                                        # after the cursor: none


async def test_delta_bits_lens_and_jumps_follow_the_active_intervention():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("v", "v", "v")
        await settle(pilot)
        assert "no intervention active" in screen_text(app)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert any("no intervention is active" in n.message for n in app._notifications)
        app.query_one("#interventions").focus()
        await pilot.press("4")
        await settle(pilot)
        delta = app.screen.delta_bits
        assert delta is not None and "no intervention active" not in screen_text(app)
        pane = app.query_one(TextPane)
        t0, t1 = pane.window
        np.testing.assert_array_equal(pane._values(t0, t1)[1:], delta[t0:t1 - 1])
        app.query_one(TextPane).focus()
        await pilot.press("right_square_bracket")
        await settle(pilot)
        positive = delta[np.isfinite(delta) & (delta > 0)]
        threshold = np.sort(positive)[int(np.ceil(positive.size * 0.98)) - 1]
        highs = np.flatnonzero(delta >= threshold)
        assert app.screen.cursor == highs[0]


async def test_kernel_progress_shows_in_the_status_line():
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.screen.post_message(KernelsWarming("attribution", 3, 9))
        await pilot.pause()
        assert "kernels 3/9 (attribution)" in screen_text(app)


async def test_an_error_in_an_action_becomes_a_notification(monkeypatch):
    import factormap.tui.motions as motions

    def broken(text, pos):
        raise RuntimeError("word motion broke")

    monkeypatch.setattr(motions, "word_forward", broken)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert app.is_running
        assert any("word motion broke" in n.message for n in app._notifications)
        await pilot.press("l")
        await settle(pilot)
        assert app.screen.cursor == 1
        assert APP_TEXT[1:2] == b"p"


async def test_an_unexpected_error_ends_the_launched_app_with_one_line(monkeypatch, capsys):
    from factormap.tui.widgets.status_line import StatusLine

    app = make_app()
    app.one_line_errors = True
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def broken(self):
            raise ZeroDivisionError("status line broke")

        monkeypatch.setattr(StatusLine, "render", broken)
        await pilot.press("l")
        await pilot.pause()
    assert app.return_code == 1
    err = capsys.readouterr().err
    assert err.strip() == "factormap-tui: unexpected error: ZeroDivisionError: status line broke"
