"""How few neurons hold the gradient of a prediction: the top-n energy share curve, n = 1..H.

For the prediction t (of ``x_{t+1}``, t = 0..n-2) the readout gradient is
``g_0(t) = d ln p_t[x_{t+1}] / d h_t = Wy^T (onehot(x_{t+1}) - p_t)``
(:func:`factormap.engine.attribution.readout_gradients`). Its energy is held by the neurons
``g_{0,j}(t)^2``; the share of the top n is the sum of the n largest over the sum of all. The curve
averages that share over the predictions, so its value at n = 10 is the attribution summary's
``top_share_k0`` (the research's "top-10 neurons capture 68% of gradient energy").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factormap.engine.attribution.prediction import readout_gradients
from factormap.engine.errors import Cancelled

#: Predictions per block (a (BLOCK, H) gradient and its sorted copy are held at a time).
BLOCK = 8192


@dataclass(frozen=True, eq=False)
class GradientSparsity:
    """The top-n energy share of the readout gradient, averaged over the predictions of a text.

    Attributes
    ----------
    predictions : int
        Predictions averaged: those with ``g_0(t) != 0`` (the share is undefined for a zero gradient).
    top_n : ndarray of int, shape (H,)
        ``n = 1..H``.
    mean_share : ndarray of float64, shape (H,)
        ``mean over t of (sum of the n largest g_{0,j}(t)^2) / (sum_j g_{0,j}(t)^2)``; 1 at n = H.
    """

    predictions: int
    top_n: np.ndarray
    mean_share: np.ndarray

    def share(self, n: int) -> float:
        """The mean top-n share (1 <= n <= H)."""
        return float(self.mean_share[n - 1])

    def to_dict(self) -> dict:
        """JSON-ready figures: ``top_n`` and ``mean_share`` (``mean_share[n-1]`` belongs to n)."""
        return {"predictions": self.predictions, "top_n": self.top_n.tolist(),
                "mean_share": self.mean_share.tolist()}


def top_shares(grads: np.ndarray) -> tuple[np.ndarray, int]:
    """Sum over the rows of ``grads`` of the cumulative top-n energy shares, and how many rows counted.

    Rows that are entirely zero are skipped. Returns ``(sums (H,), rows)``.
    """
    energy = np.asarray(grads, np.float64) ** 2
    total = energy.sum(axis=1)
    keep = total > 0
    energy, total = energy[keep], total[keep]
    energy = -np.sort(-energy, axis=1)
    shares = np.cumsum(energy, axis=1) / total[:, None]
    return shares.sum(axis=0), int(keep.sum())


def gradient_sparsity(session, progress: Callable[[float], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> GradientSparsity:
    """The :class:`GradientSparsity` of every prediction in ``session``, streamed in blocks.

    Parameters
    ----------
    session : Session
        At least two bytes of text.
    progress : callable, optional
        Called with the fraction of predictions done after each block.
    should_stop : callable, optional
        Polled before each block; when true, :class:`Cancelled` is raised.

    Raises
    ------
    Cancelled
        When ``should_stop()`` returned true.
    """
    total = session.n - 1
    if total < 1:
        raise ValueError("gradient sparsity needs at least two bytes of text")
    sums = np.zeros(session.H)
    rows = 0
    for start in range(0, total, BLOCK):
        if should_stop is not None and should_stop():
            raise Cancelled("gradient sparsity stopped")
        stop = min(total, start + BLOCK)
        grads, _ = readout_gradients(session.model, session.states(start, stop), session.x[start + 1:stop + 1])
        block_sums, block_rows = top_shares(grads)
        sums += block_sums
        rows += block_rows
        if progress is not None:
            progress(stop / total)
    mean = sums / rows if rows else np.full(session.H, np.nan)
    return GradientSparsity(predictions=rows, top_n=np.arange(1, session.H + 1), mean_share=mean)
