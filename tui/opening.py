"""What the app opens behind its first frame: the engine, imported and set up in a worker thread.

The command line loads and checks the model and text before the app starts (bad input is refused
in one line, and needs only numpy). Importing the session and its kernels brings numba, which
takes 0.3-0.5 s: the app draws its first frame first and calls :meth:`Opening.open` in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factormap.engine.model import Model
    from factormap.engine.session import Session
    from factormap.engine.warmup import ChildWarmup


@dataclass(frozen=True)
class Opening:
    """The loaded model and text, to be opened as a :class:`~factormap.engine.session.Session`.

    Attributes:
        model: the model, loaded and checked.
        text: the text's bytes.
        compile_ahead: engine modules that a child process compiles on a first run while this
            process compiles the others (empty: no child).
        compile_shared: engine modules that either process compiles, whichever gets to them
            first (see :mod:`factormap.engine.warmup`).
    """

    model: Model
    text: bytes
    compile_ahead: Sequence[str] = ()
    compile_shared: Sequence[str] = ()

    @property
    def H(self) -> int:
        """Hidden size of the model."""
        return self.model.H

    @property
    def n(self) -> int:
        """Bytes in the text."""
        return len(self.text)

    def open(self) -> tuple[Session, ChildWarmup | None]:
        """Import the engine and build the session; on a first run, start the warm-up child first.

        Returns:
            The session, and the child compiling :attr:`compile_ahead` (None when their kernels
            are cached, when there are none, or when no process could be started).
        """
        from factormap.engine.warmup import start_child_warmup

        # Before the session's imports, so that the child starts compiling as early as it can.
        warmup_ahead = (start_child_warmup(self.compile_ahead, exact=False, shared=self.compile_shared)
                        if self.compile_ahead else None)
        from factormap.engine.session import Session

        return Session(self.model, self.text), warmup_ahead
