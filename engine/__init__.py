"""factormap.engine: the numerical core of factormap-tui.

Bytes and weights in, arrays out. Imports numpy, numba and the standard library only; never the UI.

The names below are imported on first use (PEP 562), not with the package: importing any engine
module imports this package first, and ``forward`` and ``Session`` bring numba (0.3-0.5 s), which
the app's first frame and the model loader must not wait for. The forward pass itself is
:func:`factormap.engine.forward.forward` (an attribute named ``forward`` here would be the
sub-module once that is imported).
"""

from __future__ import annotations

import importlib

_HOMES = {
    "ForwardResult": "factormap.engine.forward",
    "Model": "factormap.engine.model",
    "ModelError": "factormap.engine.errors",
    "Session": "factormap.engine.session",
    "TextError": "factormap.engine.errors",
    "load_model": "factormap.engine.model",
    "load_text": "factormap.engine.text",
    "save_model": "factormap.engine.model",
}
"""Each public name and the module that defines it."""

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """The public name ``name``, imported from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
