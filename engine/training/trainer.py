"""The trainer: fits the tanh RNN of the engine's model format to a text by truncated BPTT.

An epoch reads the whole text once, from ``h = 0``, in consecutive segments of ``bptt`` positions;
the hidden state is carried from one segment into the next (the gradient is not), as in the
research's sat-rnn. After each segment the gradient of the segment's summed cross-entropy (see
:mod:`factormap.engine.training.bptt`) is scaled to global norm at most ``clip`` and applied by SGD or Adam
with the cosine learning rate ``lr_k = lr * (1 + cos(pi * k / K)) / 2`` of optimiser step
``k = 0 .. K-1`` (``K`` = epochs x segments per epoch). After each epoch the model is scored by the
engine's own forward pass over the whole text; the best-scoring model is kept.

Everything runs on one thread in a fixed order, so a given text and configuration always give
the same weights, bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.training.bptt import init_model, pack, unpack
from factormap.engine.config import MAX_MODEL_BYTES
from factormap.engine.errors import FactormapError
from factormap.engine.forward import as_bytes_array
from factormap.engine.kernels.training import KernelSettings, TrainState, train_segments_kernel
from factormap.engine.model import Model, hidden_size_for
from factormap.engine.session import Session
from factormap.engine.text import check_text

#: One kernel call trains about this many characters between progress reports and stop checks.
BLOCK_CHARS = 1 << 14
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes
    ----------
    hidden
        hidden size H.
    bptt
        positions per truncated-BPTT segment.
    epochs
        passes over the text.
    lr
        peak learning rate of the cosine schedule (its value at the first step).
    clip
        largest global gradient norm per segment (0 disables clipping).
    adam
        Adam (betas 0.9, 0.999; eps 1e-8) instead of plain SGD.
    seed
        seed of the initial weights (the only randomness).
    checkpoint_every
        call the ``checkpoint`` callback every this many epochs (0: never).
    """

    hidden: int = 128
    bptt: int = 50
    epochs: int = 20
    lr: float = 0.01
    clip: float = 5.0
    adam: bool = False
    seed: int = 0
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        positive = {"hidden": self.hidden, "bptt": self.bptt, "epochs": self.epochs}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise FactormapError(f"{name} must be a positive whole number, got {value}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise FactormapError(f"the learning rate must be a positive number, got {self.lr}")
        if not (math.isfinite(self.clip) and self.clip >= 0):
            raise FactormapError(f"clip must be a non-negative number (0 disables it), got {self.clip}")
        if int(self.checkpoint_every) != self.checkpoint_every or self.checkpoint_every < 0:
            raise FactormapError(f"checkpoint_every must be a whole number >= 0, got {self.checkpoint_every}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise FactormapError(f"the seed must be a whole number >= 0, got {self.seed}")
        largest = math.floor(hidden_size_for(MAX_MODEL_BYTES // 4))
        if self.hidden > largest:
            raise FactormapError(f"hidden must be at most {largest:,} (a model file of at most "
                                 f"{MAX_MODEL_BYTES:,} bytes), got {self.hidden:,}")


def cosine_lr(lr: float, steps: np.ndarray, total: int) -> np.ndarray:
    """``lr * (1 + cos(pi * k / total)) / 2`` for each step ``k`` in ``steps`` (float64)."""
    return lr * 0.5 * (1.0 + np.cos(np.pi * np.asarray(steps, np.float64) / total))


def evaluate_bpc(model: Model, text: bytes) -> float:
    """BPC of ``model`` on ``text`` by the engine's streamed forward pass (:class:`Session`)."""
    session = Session(model, text)
    try:
        return session.bpc
    finally:
        session.close()


@dataclass(frozen=True)
class TrainProgress:
    """Where a training run stands, reported after every block of segments.

    Attributes
    ----------
    epoch
        epochs completed.
    epochs
        epochs planned.
    chars_done
        characters trained on so far, over all epochs.
    chars_total
        ``epochs x (len(text) - 1)``.
    train_bpc
        mean ``-log2 p(x_{t+1})`` of the current (or just finished) epoch's
        predictions, made while the weights were changing.
    bpc
        BPC of the model after the last completed epoch, by the engine's forward pass
        (the initial model's before the first epoch ends).
    best_bpc
        lowest ``bpc`` so far; ``best_epoch``: the epoch that reached it (0: the initial model).
    lr
        learning rate of the last step taken.
    elapsed
        seconds since this run started.
    """

    epoch: int
    epochs: int
    chars_done: int
    chars_total: int
    train_bpc: float
    bpc: float
    best_bpc: float
    best_epoch: int
    lr: float
    elapsed: float


@dataclass(frozen=True)
class TrainResult:
    """The outcome of a run.

    Attributes
    ----------
    model
        the best model (lowest forward-pass BPC over the epochs, the initial model included).
    bpc
        its BPC on the text, by the engine's forward pass.
    best_epoch
        the epoch after which it was taken (0: the initial model).
    epochs_run
        epochs completed.
    stopped
        True when ``should_stop`` ended the run early.
    history
        (epochs_run + 1,) forward-pass BPC after each epoch, ``history[0]`` the initial model's.
    train_seconds
        seconds spent in the training kernels (evaluation excluded).
    chars_per_second
        characters trained per second of ``train_seconds``.
    """

    model: Model
    bpc: float
    best_epoch: int
    epochs_run: int
    stopped: bool
    history: np.ndarray
    train_seconds: float
    chars_per_second: float


class Trainer:
    """One training run of a model on a text; :meth:`run` may be resumed after a stop.

    Attributes
    ----------
    config
        the :class:`TrainConfig`.
    best_model
        the best model so far (valid at any moment, also after an interrupt).
    best_bpc
        its forward-pass BPC; ``best_epoch``: when it was reached.
    epoch
        epochs completed.
    history
        forward-pass BPC after each completed epoch, the initial model's first.
    """

    def __init__(self, text: bytes, config: TrainConfig) -> None:
        check_text(text)
        self.config = config
        self.text = bytes(text)
        self._x = as_bytes_array(self.text)
        start = init_model(config.hidden, config.seed)
        theta = pack(start)
        self._state = TrainState(theta=theta, moments=np.zeros((2, theta.shape[0]), theta.dtype),
                                 h=np.zeros(config.hidden, theta.dtype))
        self._settings = KernelSettings(int(config.hidden), int(config.bptt), float(config.clip),
                                        bool(config.adam), ADAM_BETAS[0], ADAM_BETAS[1], ADAM_EPS, False)
        self._segments = -(-(self._x.shape[0] - 1) // config.bptt)
        self._total_steps = config.epochs * self._segments
        self._step = self._segment = self._pos = 0
        self._epoch_nats = 0.0
        self._train_seconds = 0.0
        self.epoch = 0
        self.best_model = start
        self.best_bpc = evaluate_bpc(start, self.text)
        self.best_epoch = 0
        self.history = [self.best_bpc]

    @property
    def chars_per_epoch(self) -> int:
        """Predictions trained per epoch: ``len(text) - 1``."""
        return self._x.shape[0] - 1

    def _train_block(self) -> float:
        """Train the next block of segments of the current epoch; returns the last step's rate."""
        if self._segment == 0:
            self._state.h[:] = 0
            self._pos, self._epoch_nats = 0, 0.0
        count = min(max(1, BLOCK_CHARS // self.config.bptt), self._segments - self._segment)
        lrs = cosine_lr(self.config.lr, np.arange(self._step, self._step + count), self._total_steps)
        nats = np.empty(count)
        t0 = time.perf_counter()
        self._pos = train_segments_kernel(self._state, self._x, self._pos, self._step + 1, lrs,
                                          self._settings, nats)
        self._train_seconds += time.perf_counter() - t0
        self._epoch_nats += float(nats.sum())
        self._segment += count
        self._step += count
        return float(lrs[-1])

    def _finish_epoch(self) -> None:
        self.epoch += 1
        self._segment = 0
        model = unpack(self._state.theta, self.config.hidden, source=f"trained, epoch {self.epoch}")
        bpc = evaluate_bpc(model, self.text)
        self.history.append(bpc)
        if bpc < self.best_bpc:
            self.best_model, self.best_bpc, self.best_epoch = model, bpc, self.epoch

    def _progress(self, lr: float, t_start: float) -> TrainProgress:
        done_in_epoch = self._pos if self._segment else 0
        seen = done_in_epoch if self._segment else self.chars_per_epoch
        return TrainProgress(
            epoch=self.epoch, epochs=self.config.epochs,
            chars_done=self.epoch * self.chars_per_epoch + done_in_epoch,
            chars_total=self.config.epochs * self.chars_per_epoch,
            train_bpc=self._epoch_nats / max(seen, 1) / math.log(2.0),
            bpc=self.history[-1], best_bpc=self.best_bpc, best_epoch=self.best_epoch,
            lr=lr, elapsed=time.perf_counter() - t_start)

    def run(self, progress: Callable[[TrainProgress], None] | None = None,
            should_stop: Callable[[], bool] | None = None,
            checkpoint: Callable[[Model, TrainProgress], None] | None = None) -> TrainResult:
        """Train until the planned epochs are done or ``should_stop()`` is true.

        Parameters
        ----------
        progress
            called with a :class:`TrainProgress` after every block and every epoch.
        should_stop
            checked after every block; when true, the run ends early and returns
            the best model so far (a partial epoch is not scored).
        checkpoint
            called with ``(best_model, progress)`` every ``config.checkpoint_every`` epochs.
        """
        t_start = time.perf_counter()
        stopped = False
        lr = self.config.lr
        while self.epoch < self.config.epochs:
            lr = self._train_block()
            if self._segment == self._segments:
                self._finish_epoch()
                every = self.config.checkpoint_every
                if checkpoint is not None and every and self.epoch % every == 0:
                    checkpoint(self.best_model, self._progress(lr, t_start))
            if progress is not None:
                progress(self._progress(lr, t_start))
            if should_stop is not None and should_stop() and self.epoch < self.config.epochs:
                stopped = True
                break
        return self.result(stopped)

    def result(self, stopped: bool = False) -> TrainResult:
        """The run so far as a :class:`TrainResult` (also after an exception ended :meth:`run`)."""
        trained = self.epoch * self.chars_per_epoch + (self._pos if self._segment else 0)
        return TrainResult(model=self.best_model, bpc=self.best_bpc, best_epoch=self.best_epoch,
                           epochs_run=self.epoch, stopped=stopped, history=np.array(self.history),
                           train_seconds=self._train_seconds,
                           chars_per_second=trained / self._train_seconds if self._train_seconds else 0.0)
