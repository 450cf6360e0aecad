"""The documented errors of the engine: every bad input becomes one of these, with one sentence."""


class FactormapError(ValueError):
    """Base of the engine's input errors; ``str(err)`` is one sentence a person can act on."""


class ModelError(FactormapError):
    """A model file or array set that cannot be used (missing, wrong size, wrong shape, NaN...)."""


class TextError(FactormapError):
    """A text file that cannot be explored (missing, a directory, empty, a single byte...)."""


class OutputError(FactormapError):
    """An output file that cannot be written (not a regular file, a read-only or full disk...)."""


class Cancelled(Exception):
    """Raised inside a long computation when its ``should_stop()`` callable returned true.

    Every long engine entry point takes ``progress: Callable[[float], None] | None`` (called with the
    fraction done, 0..1) and ``should_stop: Callable[[], bool] | None``; it raises this when stopped.
    """
