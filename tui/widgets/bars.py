"""Text bars drawn with block characters: column charts (one column per value, fast enough for every
key press), progress bars and signed figures for the panes."""

from __future__ import annotations

import math

import numpy as np

EIGHTHS = " ▁▂▃▄▅▆▇█"
"""Partial blocks growing up from the bottom of a cell, in eighths."""
HALVES_DOWN = " ▀█"
"""Blocks growing down from the top of a cell, in halves (no finer glyphs exist)."""


def column_bars(values: np.ndarray, rows: int, scale: float) -> list[str]:
    """Non-negative ``values`` as vertical bars, one character column each, ``rows`` tall.

    Args:
        values: bar heights, >= 0 (NaN draws nothing).
        rows: the chart's height in cells.
        scale: the value of a full-height bar.

    Returns:
        ``rows`` strings of ``len(values)`` characters, top row first.
    """
    eighths = _cells(values, rows * 8, scale)
    out = []
    for r in range(rows):
        floor = (rows - 1 - r) * 8
        out.append("".join(EIGHTHS[min(8, max(0, e - floor))] for e in eighths))
    return out


def signed_column_bars(values: np.ndarray, rows: int, scale: float) -> list[str]:
    """Signed ``values`` as bars up (positive) and down (negative) from a zero line in the middle.

    The upper ``rows // 2`` rows hold the positive part in eighths of a cell, the lower rows the
    negative part in halves.

    Args:
        values: bar heights of either sign (NaN draws nothing).
        rows: the chart's height in cells (at least 2).
        scale: the magnitude of a full-length bar.

    Returns:
        ``rows`` strings of ``len(values)`` characters, top row first.
    """
    up_rows = rows // 2
    down_rows = rows - up_rows
    values = np.asarray(values, np.float64)
    up = column_bars(np.where(values > 0, values, 0.0), up_rows, scale)
    halves = _cells(np.where(values < 0, -values, 0.0), down_rows * 2, scale)
    down = []
    for r in range(down_rows):
        down.append("".join(HALVES_DOWN[min(2, max(0, h - 2 * r))] for h in halves))
    return up + down


def _cells(values: np.ndarray, steps: int, scale: float) -> list[int]:
    """Each value as a whole number of ``steps`` out of a full bar (a non-zero value shows at least one)."""
    out = []
    for v in np.asarray(values, np.float64):
        if not math.isfinite(v) or v <= 0 or scale <= 0:
            out.append(0)
        else:
            out.append(max(1, min(steps, round(v / scale * steps))))
    return out


def progress_bar(fraction: float, width: int = 10) -> str:
    """``fraction`` (0..1) as a bar of ``width`` cells and a percentage."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled) + f" {fraction:4.0%}"

