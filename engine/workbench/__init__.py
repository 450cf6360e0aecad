"""The research workbench: inspect one neuron or direction over the whole text, and ask whether an
edit's effect is real.

- :mod:`.probe`: what is inspected, a unit ``h_t[j]`` or a projection ``h_t . u`` (:class:`Probe`).
- :mod:`.extremes`: the K highest and K lowest values of a streamed column, ties by position.
- :mod:`.inspect`: the streamed inspection (extremes with context, histogram, fraction at or
  above a threshold, correlation with every feature).
- :mod:`.gradient_rank`: the probe's rank among the units by gradient energy.
- :mod:`.nulls`: matched nulls, the same edit on seeded random unit directions, cached.
- :mod:`.causal`: the probe's causal cost (ΔBPC at every step and at the readout) against its null.
"""
