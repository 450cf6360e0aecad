"""The factor map phi: H -> features, and the analyses built on the same features.

- :mod:`.features`: the standard features (word length, in-tag, ...) and user regex features.
- :mod:`.stream`: the features computed range by range with their carried state.
- :mod:`.moments`: float64 sufficient statistics of states and features, merged exactly.
- :mod:`.lanes`: the moments of a whole text summed in two lanes of chunks, one per core.
- :mod:`.readout`: a feature's best unit, covariance and OLS directions and their r.
- :mod:`.propagation`: how ``Wh`` carries a feature direction.
- :mod:`.compute`: the whole-text factor map (``compute_factor_map(session)``).
- :mod:`.representatives`: positions representative of each word length.
- :mod:`.bpc_breakdown`: bits per character by feature value.
"""

from factormap.engine.factor_map.compute import FactorMap, compute_factor_map

__all__ = ["FactorMap", "compute_factor_map"]
