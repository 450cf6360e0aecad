"""``NO_COLOR`` support that survives unstyled segments.

Textual turns colours into grey levels under ``NO_COLOR`` with its ``Monochrome`` line filter,
which reads ``style.color`` of every segment and fails on a segment without a style (plotext
frames rendered through rich have such segments). :class:`GreyLevels` is the same filter with
that case handled; the app puts it in place of Textual's.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import Monochrome, monochrome_style


class GreyLevels(Monochrome):
    """Textual's Monochrome filter, passing unstyled segments through unchanged."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """Each segment with its colours turned into grey levels (unstyled ones as they are)."""
        return [Segment(text, None if style is None else monochrome_style(style), None)
                for text, style, _ in segments]


def grey_level_filters(filters: list) -> list:
    """``filters`` with Textual's Monochrome replaced by :class:`GreyLevels`."""
    return [GreyLevels() if type(f) is Monochrome else f for f in filters]
