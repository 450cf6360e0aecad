"""Running a text under a set of interventions: per-position bits, Δbits and ΔBPC, streamed.

Definitions, for the text ``x_0..x_{n-1}`` of a session:

- ``bits'_t = -log2 max(p'_t[x_{t+1}], 1e-8)``, t = 0..n-2, where ``p'_t`` is the readout's softmax
  of the edited state (weight edits, then per-step edits, then readout-only edits; see
  :mod:`...interventions.plan`). Readout-only edits are folded into the readout weights
  (:meth:`StateEdits.folded_into_readout`). A non-finite logit counts as the floor: 26.58 bits.
- ``delta_bits_t = bits'_t - bits_t`` against the session's baseline bits (float32).
- ``delta_bpc = mean_t delta_bits_t`` over t = 0..n-2: ``mean_t bits'_t - mean_t bits_t`` up to the
  float32 rounding of each ``delta_bits_t`` (summed in float64, chunk by chunk in text order).

Only Δbits are stored (4 bytes per text byte per run, shared with the run's result), and not even
those by a run made with ``keep_delta_bits=False``, which gives ΔBPC in a fixed amount of memory
(the figures that need only ΔBPC: bands, controls, residual readouts). ``bits'`` is derived on
demand as the session's bits + Δbits, within one float32 rounding of the direct value.

:class:`EditedRun` streams this through the same
:class:`~factormap.engine.chunk_pipeline.ChunkPipeline` as the session: the edited recurrence of
chunk i overlaps the readout of chunk i-1 in a helper thread.
Plans that do not feed the recurrence reuse the session's states, so any window is exact at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.chunk_pipeline import ChunkPipeline
from factormap.engine.config import PROB_FLOOR
from factormap.engine.errors import Cancelled
from factormap.engine.forward import kernel_weights, next_targets, readout
from factormap.engine.interventions.edits import edited_recur
from factormap.engine.interventions.plan import Plan, compile_plan

#: Bits of a prediction whose probability is at (or under) the floor, or undefined.
FLOOR_BITS = np.float32(-math.log2(PROB_FLOOR))

StateSink = Callable[[int, np.ndarray], None]


@dataclass(frozen=True, eq=False)
class InterventionResult:
    """The whole text under a set of interventions.

    Attributes
    ----------
    delta_bits
        (n-1,) float32 ``bits'_t - bits_t`` against the baseline (read-only; shared
        with the :class:`EditedRun` that made it), or None from a run that kept no Δbits.
    baseline_bits
        (n-1,) float32 the session's bits ``bits_t`` (the session's own array, not a copy).
    baseline_bpc
        mean of the baseline bits.
    bpc
        ``baseline_bpc + delta_bpc``.
    delta_bpc
        mean of ``delta_bits`` (float64).
    edits
        one line per intervention, in the order they compose.
    """

    delta_bits: np.ndarray
    baseline_bits: np.ndarray
    baseline_bpc: float
    bpc: float
    delta_bpc: float
    edits: tuple[str, ...]

    @property
    def bits(self) -> np.ndarray | None:
        """(n-1,) float32 ``bits'_t = bits_t + delta_bits_t`` under the edit (a new array per access);
        None when the run kept no Δbits."""
        return None if self.delta_bits is None else self.baseline_bits + self.delta_bits

    def to_dict(self) -> dict:
        """JSON-ready scalars under names of the quantities."""
        return {"delta_bpc": self.delta_bpc, "bpc": self.bpc, "baseline_bpc": self.baseline_bpc,
                "edits": list(self.edits)}


class EditedRun(ChunkPipeline):
    """A session's text re-run under a plan, computed lazily or streamed; thread-safe.

    Parameters
    ----------
    session : the baseline session (model, text, baseline bits and states).
    plan : a :class:`Plan`, or a list of specs to compile.
    exact : run in float64 with libm tanh (default: only for float64 models).
    state_sink : called as ``state_sink(t0, states)`` in order with each chunk of edited states
        (after the weight and per-step edits, before readout-only edits), on the thread that reads
        them out (the helper, or the caller where no helper is needed).
    keep_delta_bits : store every position's Δbits (4 bytes per text byte) for the per-position
        figures; without, only the whole-text figures of :meth:`result` are available.
    """

    def __init__(self, session, plan, *, exact: bool | None = None, state_sink: StateSink | None = None,
                 keep_delta_bits: bool = True) -> None:
        self.session = session
        self.plan = plan if isinstance(plan, Plan) else compile_plan(session, plan)
        self.exact = session.model.dtype != np.float32 if exact is None else bool(exact)
        dtype = np.float64 if self.exact else session.model.dtype
        self._run_model = self.plan.model.astype(dtype) if self.plan.model.dtype != dtype else self.plan.model
        base = session.model.astype(dtype) if session.model.dtype != dtype else session.model
        self._readout_model = self.plan.readout.folded_into_readout(base)
        for edited in (self._run_model, self._readout_model):  # the arrays an edit kept: copies shared
            kernel_weights(edited, like=base)
        super().__init__(session.n, thread_name="factormap-edit-readout")
        self._delta = np.full(self.n - 1, np.nan, np.float32) if keep_delta_bits else None
        self._delta_sum = 0.0
        self._sink = state_sink
        self._scratch = None if keep_delta_bits else np.empty(session.chunk, np.float32)  # a chunk's Δbits
        self._h = np.zeros(session.H, dtype)

    @property
    def bits(self) -> np.ndarray:
        """(n-1,) float32 ``bits'_t``, NaN where not yet computed (a new array per access: the
        session's bits + the stored Δbits)."""
        return self.session.bits + self._stored_delta()

    @property
    def is_baseline(self) -> bool:
        """True when the plan edits nothing at all (its bits are the session's)."""
        return not self.plan.feeds_recurrence and not len(self.plan.readout)

    # -- computing ------------------------------------------------------------------------------
    def _states(self, t0: int, t1: int, h0: np.ndarray | None) -> np.ndarray:
        if self.plan.feeds_recurrence:
            return edited_recur(self._run_model, self.session.x[t0:t1], h0, self.plan.step, t0, exact=self.exact)
        states = self.session.states(t0, t1)
        return states.astype(self._run_model.dtype) if states.dtype != self._run_model.dtype else states

    def _bits_of(self, t0: int, states: np.ndarray) -> np.ndarray:
        """Edited bits of positions [t0, t0 + len(states)) clipped to n-1."""
        t1 = t0 + states.shape[0]
        bits = readout(self._readout_model, states, next_targets(self.session.x, t0, t1)).bits[: min(t1, self.n - 1) - t0]
        return np.where(np.isfinite(bits), bits, FLOOR_BITS)

    def _readout_into(self, t0: int, states: np.ndarray) -> None:
        if self._sink is not None:
            self._sink(t0, states)
        self._readout_tail_into(t0, states)

    def _readout_tail_into(self, t0: int, states: np.ndarray) -> None:
        # the caller's share of a chunk (or, from _readout_into, the helper's): disjoint rows of
        # the chunk's Δbits; the chunk's sum is taken once both are in (_chunk_read_out)
        bits = self._bits_of(t0, states)
        t1 = t0 + bits.shape[0]
        delta = bits - self.session.bits_range(t0, t1)
        if self._delta is not None:
            self._delta[t0:t1] = delta
        else:
            offset = t0 % self.session.chunk  # chunks start at multiples of the session's chunk
            self._scratch[offset:offset + delta.shape[0]] = delta

    def _chunk_read_out(self, start: int, stop: int) -> None:
        count = min(stop, self.n - 1) - start
        if count > 0:
            delta = self._delta[start:start + count] if self._delta is not None else self._scratch[:count]
            self._delta_sum += float(np.sum(delta, dtype=np.float64))

    def _tail_rows(self, rows: int, last: bool) -> int:
        # a state sink takes whole chunks in order, on the helper: no share for the caller's thread
        return 0 if self._sink is not None else super()._tail_rows(rows, last)

    def _stored_delta(self) -> np.ndarray:
        if self._delta is None:
            raise ValueError("this run keeps no per-position Δbits (made with keep_delta_bits=False)")
        return self._delta

    def _run_chunk(self, start: int) -> tuple[int, np.ndarray]:
        """The edited recurrence of the next chunk (caller holds the lock)."""
        stop = min(self.n, start + self.session.chunk)
        states = self._states(start, stop, self._h)
        self._h = states[-1].copy()
        return stop, states

    def _advance_chunk(self) -> None:
        if self.is_baseline:  # nothing is edited: every Δbit is 0, at once
            self.session.ensure(self.n)
            if self._delta is not None:
                self._delta[:] = 0.0
            self._done = self._bits_done = self.n
            return
        super()._advance_chunk()

    # -- figures --------------------------------------------------------------------------------
    def edited_bits(self, t0: int, t1: int) -> np.ndarray:
        """``bits'_t`` for t in [t0, t1) clipped to 0..n-2.

        Exact and immediate for plans that do not feed the recurrence; otherwise runs the edited
        recurrence from position 0 up to ``t1`` the first time (the edit's effect depends on it).
        """
        t0, t1 = max(0, int(t0)), min(int(t1), self.n - 1)
        if t1 <= t0:
            return np.empty(0, np.float32)
        if self.is_baseline:
            return self.session.bits_range(t0, t1).copy()
        if self._bits_done < t1 and not self.plan.feeds_recurrence:
            return self._bits_of(t0, self._states(t0, t1, None))
        self.ensure(t1)
        return self.session.bits_range(t0, t1) + self._stored_delta()[t0:t1]

    def delta_bits(self, t0: int, t1: int) -> np.ndarray:
        """``bits'_t - bits_t`` for t in [t0, t1) clipped to 0..n-2, float32."""
        t0, t1 = max(0, int(t0)), min(int(t1), self.n - 1)
        if t1 <= t0:
            return np.empty(0, np.float32)
        if self._bits_done < t1 and not self.plan.feeds_recurrence and not self.is_baseline:
            return self._bits_of(t0, self._states(t0, t1, None)) - self.session.bits_range(t0, t1)
        self.ensure(t1)
        return self._stored_delta()[t0:t1].copy()

    def delta_at(self, t: int) -> float:
        """``delta_bits_t`` at one position (NaN at the last byte, which predicts nothing)."""
        d = self.delta_bits(t, t + 1)
        return float(d[0]) if d.size else math.nan

    def window_delta_bpc(self, t0: int, t1: int) -> float:
        """Mean of ``delta_bits_t`` over [t0, t1) (float64); NaN for an empty window."""
        d = self.delta_bits(t0, t1)
        return float(np.mean(d, dtype=np.float64)) if d.size else math.nan

    def result(self) -> InterventionResult:
        """The whole-text figures (computes whatever is missing)."""
        self.ensure(self.n)
        base = self.session.bits_range(0, self.n - 1)
        delta = None
        if self._delta is not None:
            delta = self._delta.view()
            delta.flags.writeable = False
        b, d = float(np.mean(base, dtype=np.float64)), self._delta_sum / (self.n - 1)
        return InterventionResult(delta_bits=delta, baseline_bits=base, baseline_bpc=b, bpc=b + d,
                                  delta_bpc=d, edits=tuple(self.plan.describe()))


def intervention_delta(session, specs, *, exact: bool | None = None,
                       progress: Callable[[float], None] | None = None,
                       should_stop: Callable[[], bool] | None = None,
                       state_sink: StateSink | None = None, keep_delta_bits: bool = True) -> InterventionResult:
    """The whole text under ``specs`` (a list of specs or a :class:`Plan`): bits, Δbits, ΔBPC.

    Calls ``progress(fraction)`` after every chunk; raises :class:`Cancelled` when ``should_stop()``.
    Without ``keep_delta_bits`` the result has ΔBPC but no per-position Δbits (fixed memory).
    """
    stopped = should_stop if should_stop is not None else (lambda: False)
    for _ in session.run(should_stop):
        pass
    if not session.complete:
        raise Cancelled("intervention run stopped before the baseline was complete")
    run = EditedRun(session, specs, exact=exact, state_sink=state_sink, keep_delta_bits=keep_delta_bits)
    try:
        for p in run.run(should_stop):
            if progress is not None:
                progress(p.fraction)
            if stopped() and not run.complete:
                raise Cancelled("intervention run stopped")
        return run.result()
    finally:
        run.close()
