"""The text pane's lenses: which per-byte quantity tints the text, and its colour scale.

Each lens maps a value to one of a few background tints (a value never computed stays untinted).
The legend under the text pane is drawn from the same scale, so it always says what the
colours mean. Under ``NO_COLOR`` Textual turns the tints into grey levels, which keep their order;
the signed Δbits scale also has glyph twins (italic better, underlined worse) for its two sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.style import Style

SEQUENTIAL = ("#1d2b3a", "#22456b", "#2f5f8a", "#5b5f97", "#8a4f8c", "#b5446e", "#d9534f", "#f08a3c")
"""Background tints from low to high of a one-sided quantity."""
DIVERGING = ("#2c5aa0", "#3a7bd5", "#6a9fd8", "#3b3b3b", "#d08a6a", "#d5603a", "#b5302c")
"""Background tints from most negative, through zero, to most positive."""


@dataclass(frozen=True)
class Lens:
    """One way of tinting the bytes.

    Attributes:
        name: the lens's key, as the app's ``lens`` reactive holds it.
        title: what the status line and legend call it.
        meaning: one phrase saying which quantity tints which byte.
        briefs: shorter forms of the meaning, longest first, for a legend too narrow for the whole
            phrase (the legend shows the longest that fits, never a phrase cut short).
        edges: bucket edges; a value v gets tint ``searchsorted(edges, v, "right")``.
        tints: one background colour per bucket (``len(edges) + 1``).
        labels: the legend's label under each tint.
        twins: a text style per tint (``"underline"``, ``"italic"``, ``""``) that tells the sides of
            a signed scale apart where colour is lost (``NO_COLOR`` greys keep only lightness);
            empty: none.
        unit: the unit of the labels, written after the scale ("": the labels have none).
    """

    name: str
    title: str
    meaning: str
    edges: tuple[float, ...]
    tints: tuple[str, ...]
    labels: tuple[str, ...]
    briefs: tuple[str, ...]
    twins: tuple[str, ...] = ()
    unit: str = ""

    def buckets(self, values: np.ndarray) -> np.ndarray:
        """The tint index of each value, or -1 where the value is NaN (not computed yet)."""
        values = np.asarray(values, dtype=np.float64)
        idx = np.searchsorted(np.asarray(self.edges), values, side="right")
        idx[np.isnan(values)] = -1
        return idx

    @property
    def styles(self) -> tuple[Style, ...]:
        """One rich Style per tint (light text on the tint, with its glyph twin)."""
        return _styles(self.tints, self.twins)


_STYLE_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Style, ...]] = {}


def _styles(tints: tuple[str, ...], twins: tuple[str, ...]) -> tuple[Style, ...]:
    if (tints, twins) not in _STYLE_CACHE:
        twins = twins or ("",) * len(tints)
        _STYLE_CACHE[tints, twins] = tuple(Style(bgcolor=t, color="#f0f0f0") + Style.parse(twin or "none")
                                           for t, twin in zip(tints, twins))
    return _STYLE_CACHE[tints, twins]


LENSES: dict[str, Lens] = {
    lens.name: lens
    for lens in (
        Lens("surprisal", "surprisal", "−log2 p of each byte under the model",
             (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0), SEQUENTIAL,
             ("<¼", "½", "1", "2", "3", "4", "6", "8+"), ("the model's cost of each byte",), unit="bits"),
        Lens("activation", "activation", "selected neuron's h_t after each byte",
             (-0.75, -0.4, -0.1, 0.1, 0.4, 0.75), DIVERGING,
             ("−1", "−.6", "−.2", "0", ".2", ".6", "1"), ("h_t after each byte",)),
        Lens("attribution", "attribution", "share of the cursor's prediction, last K bytes",
             (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8), SEQUENTIAL,
             ("0", ".1", ".2", ".3", ".4", ".6", ".8", "max"),
             ("share of the cursor's prediction", "share of the prediction")),
        Lens("delta_bits", "Δbits", "added by the edits (italic better, underlined worse)",
             (-1.0, -0.25, -0.02, 0.02, 0.25, 1.0), DIVERGING,
             ("≤−1", "−.5", "−.1", "0", ".1", ".5", "≥1"),
             ("added by the edits (italic better, underlined worse)", "italic better, underlined worse",
              "italic better"),
             ("italic",) * 3 + ("",) + ("underline",) * 3, unit="bits"),
    )
}
"""The lenses in the order ``v`` cycles through them."""

LENS_ORDER: tuple[str, ...] = tuple(LENSES)
"""Lens names in cycling order."""


def next_lens(name: str) -> str:
    """The lens after ``name`` in the cycle."""
    return LENS_ORDER[(LENS_ORDER.index(name) + 1) % len(LENS_ORDER)]
