"""App-wide messages: results of the shell's background work, posted from thread workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual.message import Message


@dataclass
class BpcProgress(Message):
    """The whole-text forward pass advanced.

    Attributes:
        done: positions whose bits are known, from 0.
        total: positions in the text.
        bpc: mean bits per byte over the positions known so far (NaN before the first chunk).
        complete: True once every position is known and ``bpc`` is the text's BPC.
    """

    done: int
    total: int
    bpc: float
    complete: bool

    def can_replace(self, message: Message) -> bool:
        """A newer progress report makes an older, still queued one pointless."""
        return isinstance(message, BpcProgress)


@dataclass
class TrustFound(Message):
    """The trust horizon and the Lyapunov exponent of the model on the text are known.

    Attributes:
        horizon: first position where float32 states leave float64 ones by more than the tolerance (None: never).
        lyapunov: the largest Lyapunov exponent of the trajectory, nats per byte.
        positions: how many positions (from 0) the figures cover.
    """

    horizon: int | None
    lyapunov: float
    positions: int


@dataclass
class KernelsWarming(Message):
    """One more engine module's kernels are compiled or loaded: ``done`` of ``total``, ``module`` last."""

    module: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        """Only the latest count matters."""
        return isinstance(message, KernelsWarming)


@dataclass
class KernelsReady(Message):
    """The numba kernels are compiled (or loaded from the cache); ``seconds`` it took."""

    seconds: float


@dataclass
class WindowStates(Message):
    """Hidden states of the text pane's visible window, for the activation lens and exports.

    Attributes:
        t0: first position of the window.
        states: (t1 - t0, H) exact ``h_t`` for t in [t0, t1).
    """

    t0: int
    states: np.ndarray


@dataclass
class Thresholds(Message):
    """What counts as "high" for the ``]``/``[`` jumps (see the README's key table).

    Attributes:
        lens: "surprisal" (over the session's bits) or "delta_bits" (over the Δbits array).
        value: the 98th percentile of that quantity over the positions known so far.
    """

    lens: str
    value: float


@dataclass
class WorkProgress(Message):
    """A background job named ``what`` is ``fraction`` (0..1) done."""

    what: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        """A newer fraction of the same job makes a queued one pointless."""
        return isinstance(message, WorkProgress) and message.what == self.what


@dataclass
class Exported(Message):
    """The view's arrays, positions [t0, t1), were written to ``path``."""

    path: Path
    t0: int
    t1: int
