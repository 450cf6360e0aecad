"""The model: an immutable set of tanh-RNN weights (:mod:`.weights`), read from and written to
`.bin`, `.npz` or PyTorch checkpoint files (:mod:`.files`; the `.bin` layout and the checks that need
no numpy are in :mod:`factormap.engine.bin_format`).

The recurrence is ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})`` with ``h_{-1} = 0``, and ``h_t``
predicts ``x_{t+1}`` through ``softmax(Wy @ h_t + by)``.
"""

from factormap.engine.bin_format import ARRAY_NAMES, MODEL_MEMORY_FACTOR, array_shapes, float_count, hidden_size_for
from factormap.engine.model.files import load_model, save_model
from factormap.engine.model.weights import Model

__all__ = ["ARRAY_NAMES", "MODEL_MEMORY_FACTOR", "Model", "array_shapes", "float_count", "hidden_size_for",
           "load_model", "save_model"]
