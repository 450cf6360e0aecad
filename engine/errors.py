"""The documented errors of the engine: every bad input becomes one of these, with one sentence."""


class FactormapError(ValueError):
    """Base of the engine's input errors; ``str(err)`` is one sentence a person can act on."""


class ModelError(FactormapError):
    """A model file or array set that cannot be used (missing, wrong size, wrong shape, NaN...)."""


class TextError(FactormapError):
    """A text file that cannot be explored (missing, a directory, empty, a single byte...)."""
