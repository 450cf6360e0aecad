"""Interventions: edit the network's state or weights and measure the cost in bits per character.

Specs (:mod:`.specs`) are small immutable objects named for their effect. A list of them compiles
(:func:`.plan.compile_plan`) into weight edits first, then per-step state edits in list order, then
readout-only edits in list order; :class:`.run.EditedRun` and :func:`.run.intervention_delta` run
the text under the plan; :mod:`.analysis` adds the residual readout, sensitivity bands and the
random-direction control.
"""
