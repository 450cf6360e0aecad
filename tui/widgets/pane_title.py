"""Border titles fitted to a pane's width by whole fields, as every line of figures is (issue 15).

Textual cuts a border title that is too long and ends it with ``…`` (``oscilloscope  a/x add/d…``
at 60×16); a pane with :class:`FittedTitle` instead drops its title's least important fields whole,
and refits them on every resize.
"""

from __future__ import annotations

from textual import events
from textual.markup import escape

from factormap.tui.fields import Field, fit

TITLE_MARGIN = 6
"""Cells of a border's edge that a title cannot use: each corner, then a ``─`` and a blank (``╭─ title ─╮``);
Textual cuts a title longer than the rest and ends it with ``…``."""


class FittedTitle:
    """A widget whose border title is built from fields (mixed into a Widget before it in the bases).

    Attributes:
        title_fields: the title's fields; the first should be the pane's name (priority 0).
    """

    title_fields: tuple[Field, ...] = ()

    def set_title(self, *fields: Field) -> None:
        """Show ``fields`` as the border title, fitted to the pane's present width.

        Args:
            fields: the title's fields, in order (a larger priority drops out first).
        """
        self.title_fields = fields
        self._fit_title()

    def on_resize(self, event: events.Resize) -> None:
        """Refit the title to the new width."""
        self._fit_title()

    def _fit_title(self) -> None:
        if self.title_fields:
            width = self.outer_size.width - TITLE_MARGIN if self.outer_size.width else 10**6
            self.border_title = escape(fit(self.title_fields, width).plain)
