"""factormap.engine: the numerical core of factormap-tui.

Bytes and weights in, arrays out. Imports numpy, numba and the standard library only; never the UI.
"""

from factormap.engine.errors import ModelError, TextError
from factormap.engine.model import Model, load_model, save_model
from factormap.engine.forward import ForwardResult, forward
from factormap.engine.session import Session
from factormap.engine.text import load_text

__all__ = [
    "ForwardResult",
    "Model",
    "ModelError",
    "Session",
    "TextError",
    "forward",
    "load_model",
    "load_text",
    "save_model",
]
