"""The chunked two-stage pass that the session and the edited runs share.

A text is processed in chunks: the sequential stage of chunk i (a recurrence, on the calling thread)
overlaps the readout stage of chunk i-1 (on one helper thread); both release the GIL, so two cores
work at once. Where the readout is the slower stage (the session's, by 0.78 against 0.57 us per
byte best-of on Zen 4), the calling thread reads out the last rows of each chunk itself, as many
as make both threads finish together (from the last chunk's CPU times), and half of the last
chunk, which no recurrence follows. Where nothing would overlap a readout, the calling thread does
it all and no helper thread is started: in a process limited to one core, and for a short last
chunk of a pass that has needed no helper yet (a text of 1 KB: starting a thread, and waiting for
the scheduler to run it, cost more than its readout on a busy machine). The helper thread ends
with the pass's last readout, or at :meth:`ChunkPipeline.close`: a session or edited run that is
done, or dropped, holds no thread. Work advances lazily
(:meth:`ChunkPipeline.ensure`) or streamed (:meth:`ChunkPipeline.run`), thread-safely, and no
chunk is ever computed twice.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Progress:
    """How far a streamed pass has come.

    Attributes
    ----------
    done
        positions [0, done) whose states are computed.
    settled
        positions [0, settled) whose bits are computed too (the readout of the last
        chunk run may still be under way, so ``settled <= done``).
    total
        positions in the text.
    elapsed
        seconds since the pass started.
    """

    done: int
    settled: int
    total: int
    elapsed: float

    @property
    def fraction(self) -> float:
        """``done / total``."""
        return self.done / self.total if self.total else 1.0


class ChunkPipeline:
    """Positions [0, n) advanced chunk by chunk; subclasses say how a chunk is run and read out.

    Subclasses implement ``_run_chunk(start) -> (stop, states)`` (the sequential stage, called with
    the advance lock held) and ``_readout_into(start, states)`` (the readout stage, on the helper
    thread). ``_advance_lock`` guards every advance; hold it to read states being advanced.
    """

    def __init__(self, n: int, thread_name: str) -> None:
        self.n = n
        self._thread_name = thread_name
        self._done = 0
        self._bits_done = 0
        self._advance_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        self._pending_start = self._pending_stop = 0
        self._readout_rate = 0.0  # CPU seconds per row of the helper's last readout
        self._recurrence_seconds = 0.0  # CPU seconds of the last chunk's sequential stage
        self._one_core = len(os.sched_getaffinity(0)) < 2

    def _run_chunk(self, start: int) -> tuple[int, np.ndarray]:
        raise NotImplementedError

    def _readout_into(self, start: int, states: np.ndarray) -> None:
        raise NotImplementedError

    #: A last chunk of at least this many rows is read out by both threads even where no helper has
    #: started yet: starting one (tens of us on an idle machine) is then cheaper than half the readout.
    SHARED_LAST_ROWS = 2048

    #: Rows a readout handles together: a split of a chunk's readout falls on a multiple of this
    #: from the chunk's start, so every row is summed the same way wherever the split lands.
    READOUT_ALIGN = 4

    def _chunk_read_out(self, start: int, stop: int) -> None:
        """Called on the caller's thread, in text order, once every row of chunk [start, stop) is
        read out (both shares); subclasses that total a chunk's figures do it here, so that the
        totals do not depend on where the readout was split."""

    def _readout_tail_into(self, start: int, states: np.ndarray) -> None:
        """Read out the last rows of a chunk on the caller's thread while the helper reads out the
        others; subclasses whose readouts of disjoint rows are independent implement it (with
        scratch of their own) to share the readout between the two threads."""
        raise NotImplementedError

    def _tail_rows(self, rows: int, last: bool) -> int:
        """How many of a chunk's ``rows`` the caller's thread reads out itself: enough that both
        threads finish together, ``(readout - recurrence) / 2`` of the last chunk's CPU times, or
        half of them for the ``last`` chunk, which no recurrence follows (none when the subclass
        shares no readout, or the recurrence is the slower stage)."""
        if not self._shares_readout():
            return 0
        if last:
            return rows // 2 // self.READOUT_ALIGN * self.READOUT_ALIGN
        if not self._readout_rate:
            return 0
        readout = rows * self._readout_rate
        share = max(0.0, (readout - self._recurrence_seconds) / 2) / readout
        return min(rows // 2, int(rows * share)) // self.READOUT_ALIGN * self.READOUT_ALIGN

    def _shares_readout(self) -> bool:
        return type(self)._readout_tail_into is not ChunkPipeline._readout_tail_into

    def _timed_readout(self, start: int, states: np.ndarray) -> None:
        """The helper's readout, noting its CPU seconds per row for :meth:`_tail_rows`."""
        began = time.thread_time()
        self._readout_into(start, states)
        if states.shape[0]:
            self._readout_rate = (time.thread_time() - began) / states.shape[0]

    @property
    def done(self) -> int:
        """Positions [0, done) have their states computed."""
        return self._done

    @property
    def complete(self) -> bool:
        """True once the whole text has been run and every bit is known."""
        return self._bits_done >= self.n

    def _settle(self) -> None:
        """Wait for the outstanding readout (caller holds the lock)."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None
            self._chunk_read_out(self._pending_start, self._pending_stop)
            self._bits_done = self._pending_stop
            if self._bits_done >= self.n:  # nothing is left to read out: the helper thread ends now
                self._pool.shutdown(wait=False)
                self._pool = None

    def _advance_chunk(self) -> None:
        """Run the next chunk's sequential stage and start its readout (caller holds the lock)."""
        start = self._done
        began = time.thread_time()
        stop, states = self._run_chunk(start)
        self._recurrence_seconds = time.thread_time() - began
        self._done = stop
        self._settle()
        last = stop >= self.n
        alone = self._pool is None and (not self._shares_readout() or states.shape[0] < self.SHARED_LAST_ROWS)
        if self._one_core or (last and alone):
            self._readout_into(start, states)
            self._chunk_read_out(start, stop)
            self._bits_done = stop
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._thread_name)
        mid = states.shape[0] - self._tail_rows(states.shape[0], last)
        self._pending = self._pool.submit(self._timed_readout, start, states[:mid])
        self._pending_start, self._pending_stop = start, stop
        if mid < states.shape[0]:
            self._readout_tail_into(start + mid, states[mid:])

    def _advance_to(self, t: int) -> None:
        """Run the sequential stage up to position ``t`` (readouts may still be running)."""
        if self._done < t:
            with self._advance_lock:
                while self._done < t:
                    self._advance_chunk()

    def ensure(self, t: int) -> None:
        """Compute states and bits for every position below ``t`` (synchronously)."""
        t = min(int(t), self.n)
        if self._bits_done >= t:
            return
        with self._advance_lock:
            while self._done < t:
                self._advance_chunk()
            self._settle()

    def run(self, should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
        """Stream the rest of the text, yielding progress after each chunk.

        Progress is yielded outside the advance lock, so the caller may do anything in between
        (even close the pipeline). ``done == total`` comes once, in the last item, after every
        readout has finished (so it also has ``settled == total``). Stops early (leaving a
        consistent, resumable pass) when ``should_stop()`` is true.
        """
        t_start = time.perf_counter()
        while True:
            with self._advance_lock:
                if self._done < self.n:
                    self._advance_chunk()
                final = self._done >= self.n
                if final:  # the pass's end is reported once, with every bit known
                    self._settle()
                progress = Progress(self._done, self._bits_done, self.n, time.perf_counter() - t_start)
            yield progress
            if final:
                return
            if should_stop is not None and should_stop():
                with self._advance_lock:
                    self._settle()
                return

    def close(self) -> None:
        """Finish the outstanding readout and stop the readout helper thread."""
        with self._advance_lock:
            self._settle()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
