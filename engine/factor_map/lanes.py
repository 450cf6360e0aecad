"""The factor map's pass over a text: its float64 moments summed in two lanes, one per core.

Chunk k of the text goes to lane ``k % LANES``. A lane is a thread of its own that re-runs the
recurrence of its chunk from the session's checkpoints (:meth:`Session.states`) and adds the
chunk's moments to sums of its own, its chunks in text order; the lanes' sums are added together
at the end, lane by lane. Every lane takes its sums around the first chunk's means (the ``shift``
of :class:`~factormap.engine.factor_map.moments.StateMoments` and
:class:`~factormap.engine.factor_map.moments.FeatureMoments`), so the result equals one lane's
sums to float64 rounding, and is the same on every run: which chunks a lane adds, and in which
order, does not depend on timing. The recurrence and the moment kernels release the GIL, so on two
cores each lane has a core: the pass costs half of (recurrence + moments) per position, not the
slower of the two.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np

from factormap.engine.errors import Cancelled
from factormap.engine.factor_map.moments import FeatureMoments, StateMoments

#: Threads that add chunks' moments at once (the machines this runs on have two cores).
LANES = 2
#: Chunks waiting for each lane beyond the one it adds: each holds its features, so memory stays
#: bounded, and a lane always has its next chunk at hand.
QUEUED_PER_LANE = 2

#: The sums of one lane: the states' moments, and each feature's (by key).
Sums = tuple[StateMoments, dict]


def _add_chunk(session, t0: int, t1: int, features: Mapping, sums: Sums) -> None:
    """Add the moments of positions [t0, t1): their states re-run, and each feature's values."""
    states, moments = sums
    states.add_with_features(session.states(t0, t1), [(m, features[key]) for key, m in moments.items()])


def _around_the_same_shifts(sums: Sums) -> Sums:
    """Empty sums around the shifts of ``sums`` (for other positions of the same pass)."""
    states, moments = sums
    fresh = StateMoments(states.sum.size)
    fresh.shift = states.shift
    fresh_moments = {}
    for key, m in moments.items():
        fresh_moments[key] = FeatureMoments(states.sum.size)
        fresh_moments[key].shift = m.shift
    return fresh, fresh_moments


def lane_moments(session, chunks: Iterable[tuple[int, int, Mapping[object, np.ndarray]]], keys: tuple,
                 progress: Callable[[float], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Sums:
    """The moments of ``session``'s states and of the features ``keys`` over the whole text.

    Parameters
    ----------
    session : a :class:`factormap.engine.session.Session`; its states are re-run chunk by chunk.
    chunks : ``(t0, t1, key -> (t1 - t0,) values)`` over [0, n) in text order, ``session.chunk``
        positions each (read on the calling thread, one chunk at a time).
    keys : the features to sum, keys of each chunk's values.
    progress : called with the fraction of positions added, after each chunk, in text order.
    should_stop : polled before each chunk; when true, :class:`Cancelled` is raised.

    Returns
    -------
    (StateMoments, key -> FeatureMoments), summed over every position.

    Raises
    ------
    Cancelled
        ``should_stop()`` returned true.
    """
    n = session.n
    lanes = [(StateMoments(session.H), {key: FeatureMoments(session.H) for key in keys})]
    pending: deque[tuple[Future, int]] = deque()

    def finish_oldest() -> None:
        future, t1 = pending.popleft()
        future.result()
        if progress is not None:
            progress(t1 / n)

    with ExitStack() as stack:
        pools = [stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"factormap-lane{i}"))
                 for i in range(LANES)]
        try:
            for k, (t0, t1, features) in enumerate(chunks):
                if should_stop is not None and should_stop():
                    raise Cancelled("factor map cancelled")
                if k == 0:  # its means are every lane's shifts: the other lanes start once they are known
                    _add_chunk(session, t0, t1, features, lanes[0])
                    lanes += [_around_the_same_shifts(lanes[0]) for _ in range(LANES - 1)]
                    if progress is not None:
                        progress(t1 / n)
                    continue
                while len(pending) >= LANES * QUEUED_PER_LANE:
                    finish_oldest()
                pending.append((pools[k % LANES].submit(_add_chunk, session, t0, t1, features, lanes[k % LANES]), t1))
            while pending:
                finish_oldest()
        except BaseException:
            for future, _ in pending:
                future.cancel()
            raise
    states, moments = lanes[0]
    for other_states, other_moments in lanes[1:]:
        states.merge(other_states)
        for key, m in moments.items():
            m.merge(other_moments[key])
    return states, moments
