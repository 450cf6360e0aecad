"""Waiting, from a worker that a newer key press may make stale, for the forward pass or an event."""

from __future__ import annotations

import threading
from collections.abc import Callable

from factormap.engine.session import Session

#: Seconds between two looks at ``should_stop()`` while waiting for an event.
POLL_INTERVAL = 0.05


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


def wait_for(event: threading.Event | None, should_stop: Callable[[], bool]) -> bool:
    """Wait until ``event`` is set (None: at once), looking at ``should_stop()`` every
    :data:`POLL_INTERVAL` seconds, so a cancelled worker gives its thread back instead of holding
    one of the executor's few threads for as long as the event takes.

    Returns:
        True once the event is set; False if ``should_stop()`` became true first.
    """
    if event is None:
        return True
    while not event.wait(POLL_INTERVAL):
        if should_stop():
            return False
    return True
