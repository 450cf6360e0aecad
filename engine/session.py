"""The streaming session: the engine's face to the app and to notebooks.

``Session(model, text)`` runs the forward pass over the whole text in chunks and keeps only what is
small: per-position bits (float32) beside the text's bytes (5 bytes per text byte), and the hidden
state at a checkpoint every ``checkpoint_every`` positions. ``states(t0, t1)`` re-runs any range
exactly from the nearest checkpoint, with a small LRU cache; ``predictions(t0, t1)`` recomputes the
predicted byte and its probability from those states (they are not stored). Texts up to ``full_states_limit`` bytes keep every
state instead. Work advances lazily (the first screen needs only the first chunk) or by driving
:meth:`Session.run` from a worker; both are thread-safe and never compute a chunk twice.

On two cores the recurrence of chunk i overlaps the readout of chunk i-1 in a helper thread
(:class:`factormap.engine.chunk_pipeline.ChunkPipeline`; both numba kernels release the GIL), and
the recurrence's thread reads out the last rows of each chunk itself so that both finish together.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from factormap.engine.chunk_pipeline import ChunkPipeline, Progress
from factormap.engine.config import CHECKPOINT_EVERY, CHUNK, FULL_STATES_LIMIT
from factormap.engine.forward import as_bytes_array, next_targets, readout, readout_into, recur
from factormap.engine.model import Model
from factormap.engine.text import check_text

_CACHE_SEGMENTS = 32
#: Bits ranked at a time by :meth:`Session.worst_positions` (its memory: a few such blocks).
_WORST_BLOCK = 1 << 20


class Session(ChunkPipeline):
    """A model and a text, with the forward pass streamed over the text.

    Attributes
    ----------
    model
        the weights.
    text
        the text's bytes.
    x
        the text as a read-only uint8 array.
    n
        number of bytes.
    bits
        (n-1,) bits of the prediction at t of byte t+1, float32 (float64 for a float64
        model, whose BPC must not carry float32 rounding); NaN where not yet computed.
        The only per-position figure stored (the predicted byte and its probability come from
        :meth:`predictions`, like the states from :meth:`states`).
    checkpoint_every
        C; ``checkpoints[k]`` is the state before position k*C.
    """

    def __init__(self, model: Model, text: bytes, *, checkpoint_every: int = CHECKPOINT_EVERY,
                 full_states_limit: int = FULL_STATES_LIMIT, chunk: int = CHUNK) -> None:
        check_text(text)
        self.model = model
        self.text = bytes(text)
        self.x = as_bytes_array(self.text)
        super().__init__(self.x.shape[0], thread_name="factormap-readout")
        self.checkpoint_every = int(checkpoint_every)
        self.chunk = max(self.checkpoint_every, (int(chunk) // self.checkpoint_every) * self.checkpoint_every)
        H = model.H
        self.bits = np.full(self.n - 1, np.nan, np.float64 if model.dtype == np.float64 else np.float32)
        self._predicted = (np.empty(self.chunk, np.uint8), np.empty(self.chunk, np.float32))  # readout scratch
        self._tail_predicted: tuple[np.ndarray, np.ndarray] | None = None  # the caller's share's scratch
        n_ckpt = (self.n + self.checkpoint_every - 1) // self.checkpoint_every
        self.checkpoints = np.zeros((n_ckpt, H), model.dtype)
        self._all_states = np.empty((self.n, H), model.dtype) if self.n <= full_states_limit else None
        self._h = np.zeros(H, model.dtype)
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._buffers: list[np.ndarray] = []

    # -- progress ---------------------------------------------------------------------------
    @property
    def H(self) -> int:
        """Hidden size."""
        return self.model.H

    @property
    def bpc(self) -> float:
        """Mean of ``bits`` over t = 0..n-2 (float64 accumulation); runs the rest of the text if needed."""
        self.ensure(self.n)
        return float(np.mean(self.bits, dtype=np.float64))

    # -- advancing ----------------------------------------------------------------------------
    def _readout_into(self, start: int, states: np.ndarray,
                      scratch: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        stop = start + states.shape[0]
        pred_byte, pred_prob = (a[:stop - start] for a in scratch or self._predicted)  # one readout at a time
        readout_into(self.model, states, next_targets(self.x, start, stop), self.bits[start:min(stop, self.n - 1)],
                     pred_byte, pred_prob)

    def _readout_tail_into(self, start: int, states: np.ndarray) -> None:
        # rows are read out independently, so the caller's thread takes the chunk's last rows with
        # scratch of its own while the helper reads out the rest
        if self._tail_predicted is None:
            self._tail_predicted = (np.empty(self.chunk, np.uint8), np.empty(self.chunk, np.float32))
        self._readout_into(start, states, self._tail_predicted)

    def _chunk_states(self, start: int, stop: int) -> np.ndarray:
        """Where chunk [start, stop) puts its states: the full array, or the buffer not being read out.

        Two buffers are reused turn about, so the pass never touches fresh pages (page faults of a
        new chunk-sized array each time cost as much as the recurrence).
        """
        if self._all_states is not None:
            return self._all_states[start:stop]
        if not self._buffers:
            self._buffers = [np.empty((self.chunk, self.H), self.model.dtype) for _ in range(2)]
        self._buffers.reverse()
        return self._buffers[0][: stop - start]

    def _run_chunk(self, start: int) -> tuple[int, np.ndarray]:
        """The recurrence of the next chunk, storing its checkpoints (caller holds the lock)."""
        stop = min(self.n, start + self.chunk)
        C = self.checkpoint_every
        states = self._chunk_states(start, stop)
        for k0 in range(start, stop, C):
            k1 = min(stop, k0 + C)
            self.checkpoints[k0 // C] = self._h
            seg = states[k0 - start:k1 - start]
            recur(self.model, self.x[k0:k1], self._h, out=seg)
            self._h = seg[-1].copy()
        return stop, states

    # -- states -------------------------------------------------------------------------------
    def _segment(self, k: int) -> np.ndarray:
        """States of checkpoint segment k, [k*C, min(n, (k+1)*C)), re-run exactly and cached."""
        with self._cache_lock:
            seg = self._cache.get(k)
            if seg is not None:
                self._cache.move_to_end(k)
                return seg
        C = self.checkpoint_every
        k0, k1 = k * C, min(self.n, (k + 1) * C)
        seg = recur(self.model, self.x[k0:k1], self.checkpoints[k])
        seg.setflags(write=False)
        with self._cache_lock:
            self._cache[k] = seg
            while len(self._cache) > _CACHE_SEGMENTS:
                self._cache.popitem(last=False)
        return seg

    def states(self, t0: int, t1: int) -> np.ndarray:
        """Exact hidden states h_t for t in [t0, t1), shape (t1-t0, H); computes what is missing."""
        t0, t1 = max(0, int(t0)), min(self.n, int(t1))
        if t1 <= t0:
            return np.empty((0, self.H), self.model.dtype)
        self._advance_to(t1)
        if self._all_states is not None:
            return self._all_states[t0:t1].copy()
        C = self.checkpoint_every
        parts = []
        for k in range(t0 // C, (t1 - 1) // C + 1):
            seg = self._segment(k)
            a, b = max(t0, k * C) - k * C, min(t1, (k + 1) * C) - k * C
            parts.append(seg[a:b])
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def state_before(self, t: int) -> np.ndarray:
        """``h_{t-1}``: the state the recurrence starts from at position t (zeros at t = 0)."""
        if t <= 0:
            return np.zeros(self.H, self.model.dtype)
        return self.states(t - 1, t)[0]

    def predictions(self, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
        """``(pred_byte, pred_prob)`` of positions [t0, t1): ``argmax p_t`` (uint8), the byte the
        model finds most likely after reading ``x_t``, and ``max p_t`` (float32), its probability.

        Computed from the exact states of the range (:meth:`states`), not stored: a session keeps
        only the byte and its bits per position.
        """
        ro = readout(self.model, self.states(t0, t1), next_targets(self.x, t0, t1))
        return ro.pred_byte, ro.pred_prob

    def bits_range(self, t0: int, t1: int) -> np.ndarray:
        """Bits of positions [t0, t1) (clipped to 0..n-2), computing what is missing."""
        t1 = min(int(t1), self.n - 1)
        t0 = max(0, int(t0))
        self.ensure(t1 + 1)
        return self.bits[t0:t1]

    def worst_positions(self, count: int = 10) -> np.ndarray:
        """Positions t of the ``count`` largest bits, worst first, equal bits by position (runs the
        whole text if needed).

        Exact, in memory independent of n: each block of :data:`_WORST_BLOCK` bits gives its
        ``count`` best candidates, merged into a running top-``count`` (NaN ranks below every bit).
        """
        count = int(count)
        if count < 0:
            raise ValueError(f"count must be 0 or more, got {count}")
        self.ensure(self.n)
        count = min(count, self.bits.size)
        values = np.empty(0, np.float32)
        positions = np.empty(0, np.intp)
        for start in range(0, self.bits.size if count else 0, _WORST_BLOCK):
            block = self.bits[start:start + _WORST_BLOCK]
            values = np.concatenate([values, np.where(np.isnan(block), -np.inf, block).astype(np.float32)])
            positions = np.concatenate([positions, np.arange(start, start + block.size)])
            keep = _top_in_position_order(values, count)
            values, positions = values[keep], positions[keep]
        return positions[np.lexsort((positions, -values))]

    def context(self, t: int, before: int = 20, after: int = 10) -> tuple[bytes, bytes, bytes]:
        """The bytes before position t, the byte at t, and the bytes after it."""
        return (self.text[max(0, t - before):t], self.text[t:t + 1], self.text[t + 1:t + 1 + after])


def _top_in_position_order(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` largest ``values`` (the earliest of equal ones), ascending."""
    if values.size <= count:
        return np.arange(values.size)
    kth = np.partition(values, values.size - count)[values.size - count]
    above = np.flatnonzero(values > kth)
    equal = np.flatnonzero(values == kth)[:count - above.size]
    return np.sort(np.concatenate([above, equal]))


def warm(exact: bool = True) -> None:
    """Run tiny streamed sessions of a float32 model and, with ``exact``, a float64 one (chunk
    buffers, checkpoints, re-runs): compiles every kernel signature a session calls."""
    from factormap.engine.model import Model

    H = 3
    for dtype in (np.float32, np.float64)[:1 + exact]:
        model = Model(Wx=np.zeros((H, 256), dtype), Wh=np.eye(H, dtype=dtype), bh=np.zeros(H, dtype),
                      Wy=np.zeros((256, H), dtype), by=np.zeros(256, dtype), source="warm-up")
        session = Session(model, bytes(range(64)), checkpoint_every=8, full_states_limit=0, chunk=16)
        for _ in session.run():
            pass
        session.states(3, 20)
        session.close()
