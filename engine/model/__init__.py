"""The model: an immutable set of tanh-RNN weights (:mod:`.weights`), read from and written to
`.bin`, `.npz` or PyTorch checkpoint files (:mod:`.files`).

The recurrence is ``h_t = tanh(bh + Wx[:, x_t] + Wh @ h_{t-1})`` with ``h_{-1} = 0``, and ``h_t``
predicts ``x_{t+1}`` through ``softmax(Wy @ h_t + by)``.
"""

from factormap.engine.bin_format import MODEL_MEMORY_FACTOR
from factormap.engine.model.files import load_model, save_model
from factormap.engine.model.weights import ARRAY_NAMES, Model, array_shapes, float_count, hidden_size_for

__all__ = ["ARRAY_NAMES", "MODEL_MEMORY_FACTOR", "Model", "array_shapes", "float_count", "hidden_size_for",
           "load_model", "save_model"]
