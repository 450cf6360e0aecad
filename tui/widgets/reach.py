"""Waiting for the forward pass from a worker that a newer key press may make stale."""

from __future__ import annotations

from collections.abc import Callable

from factormap.engine.session import Session


def reach(session: Session, t: int, should_stop: Callable[[], bool]) -> bool:
    """Advance the session's forward pass until position ``t`` has its state.

    Goes chunk by chunk through :meth:`Session.run` (shared with any other pass: no chunk is
    computed twice), so a worker made stale by a newer cursor move gives up its thread within one
    chunk instead of waiting for a far position; without this, a held key in an unexplored part
    of a big text would pile blocked workers onto the thread pool.

    Returns:
        True once ``t`` is reached; False if ``should_stop()`` became true first.
    """
    if session.done > t:
        return True
    for _ in session.run(should_stop=lambda: should_stop() or session.done > t):
        pass
    return session.done > min(t, session.n - 1)
