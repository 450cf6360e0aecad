"""Features of a whole text range by range, in memory that does not grow with the text.

The whole-text feature functions of :mod:`factormap.engine.factor_map.features` give 8 bytes per text byte
per feature (3.2 GB for the four standard ones of a 100 MB text). A :class:`FeatureStream` gives
the same values, bit for bit, one range at a time: it walks the text with the small
:class:`~factormap.engine.factor_map.features.FeatureCarry` (last separator, last ``<`` and ``>``, tag depth)
and records the carry every ``step`` positions, so that any range can be computed again from the
recorded carry at or before it. A :class:`FeatureColumn` is one feature read the same way, either
a standard feature streamed from the bytes or a whole array the caller already holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from factormap.engine.errors import FactormapError
from factormap.engine.factor_map.features import STANDARD_FEATURES, FeatureCarry, FeatureError, features_of_range
from factormap.engine.forward import as_bytes_array

#: Positions per range when none is given: the session's chunk.
STEP = 1 << 12


class FeatureStream:
    """The standard features ``names`` of the text ``x``, range by range; thread-safe.

    Parameters
    ----------
    x : the text's bytes (kept as a uint8 array, not copied when it already is one).
    names : which of :data:`~factormap.engine.factor_map.features.STANDARD_FEATURES` to give, in order.
    step : positions per range of :meth:`chunks`; :meth:`range` records the carry at every multiple
        of ``step`` it passes (one small object per ``step`` positions).
    """

    def __init__(self, x, names: tuple[str, ...] = STANDARD_FEATURES, step: int = STEP) -> None:
        if step < 1:
            raise ValueError(f"step must be 1 or more, got {step}")
        self.x = as_bytes_array(x)
        self.n = self.x.size
        self.names = tuple(names)
        self.step = int(step)
        features_of_range(self.x, 0, 0, names=self.names)  # an unknown name fails here, not mid-pass
        self._carries = [FeatureCarry()]  # _carries[k]: the carry at position k * step
        self._lock = threading.Lock()

    def chunks(self) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
        """``(t0, t1, name -> (t1 - t0,) float64 values)`` for [0, n) in ranges of ``step``, in order."""
        carry = FeatureCarry()
        for t0 in range(0, self.n, self.step):
            t1 = min(self.n, t0 + self.step)
            values, carry = features_of_range(self.x, t0, t1, carry, self.names)
            yield t0, t1, values

    def range(self, t0: int, t1: int) -> dict[str, np.ndarray]:
        """name -> (t1 - t0,) float64 values at positions [t0, t1), ``0 <= t0 <= t1 <= n``.

        Computed from the recorded carry at ``step * (t0 // step)``; the first call past the
        furthest recorded carry walks the text up to it, so ranges asked for in order cost one
        pass in all.
        """
        t0, t1 = int(t0), int(t1)
        if not 0 <= t0 <= t1 <= self.n:
            raise ValueError(f"range [{t0}, {t1}) is not within the text's {self.n} positions")
        k = t0 // self.step
        start = k * self.step
        carry = self._carry_at(k)
        parts = []
        for a in range(start, t1, self.step):
            b = min(t1, a + self.step)
            values, carry = features_of_range(self.x, a, b, carry, self.names)
            if b % self.step == 0:
                self._record(b // self.step, carry)
            parts.append(values)
        if not parts:
            return features_of_range(self.x, t0, t0, names=self.names)[0]
        return {name: (parts[0][name] if len(parts) == 1 else np.concatenate([p[name] for p in parts]))[t0 - start:]
                for name in self.names}

    def _carry_at(self, k: int) -> FeatureCarry:
        with self._lock:
            j = min(k, len(self._carries) - 1)
            carry = self._carries[j]
        while j < k:
            a = j * self.step
            carry = features_of_range(self.x, a, a + self.step, carry, self.names)[1]
            j += 1
            self._record(j, carry)
        return carry

    def _record(self, k: int, carry: FeatureCarry) -> None:
        with self._lock:
            if len(self._carries) == k:
                self._carries.append(carry)


class FeatureColumn:
    """One feature of a text read range by range: a standard feature streamed from the bytes, or
    the values of a whole (n,) array the caller holds.

    Parameters
    ----------
    x : the text's bytes.
    feature : the name of a standard feature, or an (n,) array of finite numbers aligned with the
        positions (kept as float64; a float64 array is not copied).
    step : the stream's ``step`` (for a standard feature).

    Raises
    ------
    FactormapError
        An array of another length, or holding NaN or infinite values.
    FeatureError
        A name that is not a standard feature.
    """

    def __init__(self, x, feature: str | np.ndarray, step: int = STEP) -> None:
        x = as_bytes_array(x)
        self.n = x.size
        self._stream: FeatureStream | None = None
        self._values: np.ndarray | None = None
        if isinstance(feature, str):
            self.name = feature
            self._stream = FeatureStream(x, (feature,), step)
            return
        values = np.asarray(feature, np.float64)
        if values.shape != (self.n,):
            raise FactormapError(f"the feature has {values.size} values but the text has {self.n} bytes.")
        if not np.all(np.isfinite(values)):
            raise FeatureError("the feature holds NaN or infinite values")
        self.name = ""
        self._values = values

    @property
    def streamed(self) -> bool:
        """True for a standard feature computed from the bytes (no whole array held)."""
        return self._stream is not None

    def range(self, t0: int, t1: int) -> np.ndarray:
        """The feature at positions [t0, t1), float64 (a view of the array for an array feature)."""
        if self._stream is not None:
            return self._stream.range(t0, t1)[self.name]
        return self._values[t0:t1]
