"""Corpus-scale sweeps: hundreds of independent whole-text passes run as tasks on a Dask cluster.

- :mod:`.plan`: the tasks of a sweep (one edit of one model each) and their stable keys;
- :mod:`.task`: what a worker runs for a task, with the same engine code as ``report``;
- :mod:`.cluster`: the Dask side (an optional import): a client, submission, retries, cancelling;
- :mod:`.results`: the rows of finished tasks and the resumable ``--out`` file;
- :mod:`.shards`: the factor map's moments and readout-only ΔBPC over shards split at the session's
  checkpoints; :mod:`.shard_attribution`: the attribution summary the same way, its medians exact.
"""
