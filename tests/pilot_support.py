"""Pilot helpers that need neither pytest nor the test fixtures, so that bench/ can use them too."""

from __future__ import annotations


async def settle(pilot, attempts: int = 200) -> None:
    """Wait until every worker has finished, no pane has a frame due, and the screen has caught up."""
    app = pilot.app
    for _ in range(attempts):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(getattr(w, "drawing", False) for w in app.screen.query("*")) and not any(
                w.is_running for w in app.workers):
            break
        await pilot.pause(0.02)
    await pilot.pause()
