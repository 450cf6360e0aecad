"""ANSI text (as plotext prints it) straight to Textual strips, without building a rich Text.

plotext colours every run of a chart with SGR escapes (``ESC[38;5;12m``, ``ESC[0m``...). Going
through ``Text.from_ansi`` and a console render costs more than drawing the chart; here each
distinct escape is decoded once by rich and cached, and every line becomes one strip of segments.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

_SGR = re.compile("\x1b\\[([0-9;]*)m")


@lru_cache(maxsize=1024)
def _after(style: Style, params: str) -> Style:
    """The style in force after the escape ``ESC[{params}m`` is applied to ``style``."""
    if params in ("", "0"):
        return Style()
    decoded = Text.from_ansi(f"\x1b[{params}m.")
    return style + (decoded.spans[0].style if decoded.spans else Style())


def ansi_to_strips(ansi: str, width: int, height: int) -> list[Strip]:
    """``height`` strips of ``width`` cells from lines of ANSI-coloured text (cropped or padded)."""
    strips = []
    style = Style()
    for line in ansi.split("\n")[:height]:
        segments = []
        pos = 0
        for match in _SGR.finditer(line):
            if match.start() > pos:
                segments.append(Segment(line[pos:match.start()], style))
            style = _after(style, match.group(1))
            pos = match.end()
        if pos < len(line):
            segments.append(Segment(line[pos:], style))
        strips.append(Strip(segments).crop_extend(0, width, None))
    strips.extend(Strip.blank(width) for _ in range(height - len(strips)))
    return strips
