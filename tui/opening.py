"""What the app opens behind its first frame: the engine, imported and set up in a worker thread.

The command line checks the model and text before the app starts (bad input is refused in one
line): a raw `.bin` model with the standard library alone, to be loaded here, other formats loaded
with numpy. Importing numpy takes about 0.1 s, the session and its kernels (numba) 0.3-0.5 s: the
app draws its first frame first and calls :meth:`Opening.open` in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factormap.engine.model import Model
    from factormap.engine.session import Session
    from factormap.engine.warmup import ChildWarmup


@dataclass(frozen=True)
class ModelFile:
    """A raw `.bin` model file that passed every check of the loader, read by :meth:`load`.

    Attributes:
        path: the file.
        H: its hidden size.
        precision: the float type of the model's arrays (``"float32"`` or ``"float64"``).
    """

    path: Path
    H: int
    precision: str

    def load(self) -> Model:
        """The model (numpy's first import, when it is one)."""
        from factormap.engine.model import load_model

        return load_model(self.path, self.precision)


@dataclass(frozen=True)
class Opening:
    """The checked model and text, to be opened as a :class:`~factormap.engine.session.Session`.

    Attributes:
        model: the model, loaded and checked, or a checked `.bin` file that :meth:`open` loads.
        text: the text's bytes.
        compile_ahead: engine modules that a child process compiles on a first run while this
            process compiles the others (empty: no child).
        compile_shared: engine modules that either process compiles, whichever gets to them
            first (see :mod:`factormap.engine.warmup`).
    """

    model: Model | ModelFile
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

    def load_model(self) -> Model:
        """The model (read from its file when it is a :class:`ModelFile`)."""
        return self.model.load() if isinstance(self.model, ModelFile) else self.model

    def open(self) -> tuple[Session, ChildWarmup | None]:
        """Load the model (:meth:`load_model`), import the engine and build the session; on a first run,
        start the warm-up child first.

        Raises:
            FactormapError: the model file no longer loads (it changed since it was checked).

        Returns:
            The session, and the child compiling :attr:`compile_ahead` (None when their kernels
            are cached, when there are none, or when no process could be started).
        """
        from factormap.engine.warmup import start_child_warmup

        # Before numpy and the session's imports, so that the child starts compiling as early as it can.
        warmup_ahead = (start_child_warmup(self.compile_ahead, exact=False, shared=self.compile_shared)
                        if self.compile_ahead else None)
        try:
            model = self.load_model()
        except BaseException:
            if warmup_ahead is not None:
                warmup_ahead.stop()
            raise
        from factormap.engine.session import Session

        return Session(model, self.text), warmup_ahead
