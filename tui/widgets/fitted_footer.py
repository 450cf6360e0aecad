"""The footer, showing only the keys that fit whole.

Textual's footer lays its keys out in a row and cuts the row at the screen's edge, mid-key
(``E ex`` at 100 columns); this one hides every key that would reach past the command palette's
key, so each key shown reads whole. The keys left out are still bound (``?`` lists them all).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class FittedFooter(Footer):
    """A :class:`~textual.widgets.Footer` whose keys are shown only where they fit whole."""

    async def recompose(self) -> None:
        """Rebuild the keys (the bindings changed), then fit them once they are laid out."""
        await super().recompose()
        self.call_after_refresh(self.fit_keys)

    def on_resize(self, event: events.Resize) -> None:
        """Fit the keys to the new width once the row is laid out again."""
        for key in self.query(FooterKey):
            key.display = True
        self.call_after_refresh(self.fit_keys)

    def fit_keys(self) -> None:
        """Hide every key (but the command palette's) that reaches past the palette's key."""
        keys = list(self.query(FooterKey))
        palettes = [key for key in keys if key.has_class("-command-palette")]
        right = min((key.region.x for key in palettes), default=self.region.right)
        for key in keys:
            if key not in palettes and key.display and key.region.right > right:
                key.display = False
