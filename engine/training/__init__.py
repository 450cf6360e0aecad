"""Training a model of this format: the trainer (:mod:`.trainer`) and its truncated BPTT (:mod:`.bptt`)."""
