"""Attribution: how a prediction depends on earlier positions and neurons, by exact BPTT.

- :mod:`.prediction`: the attribution of one prediction (``attribution(session, t)``).
- :mod:`.profiles`: per-offset statistics of a block of predictions (one numba kernel).
- :mod:`.summary`: the whole-text summary (growth of ``‖g_k‖``, mean ``|a_k|``, top-10 share).
- :mod:`.streamed_median`: the bounded-memory median the summary uses.
- :mod:`.sparsity`: how much of the gradient's energy the top neurons carry.
"""

from factormap.engine.attribution.prediction import Attribution, attribution

__all__ = ["Attribution", "attribution"]
