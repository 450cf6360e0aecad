"""Headless sub-commands of ``factormap-tui``; each module defines ``add_arguments`` and ``run``.

A module listed in :data:`COMMANDS` is imported only when its command is used, so the app's
start-up never pays for another command's imports.
"""

#: command name -> (module under factormap.tui.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "print the model's and the text's vital figures"),
    "report": ("report", "print the research's figures: attribution, factor map, interventions"),
    "train": ("train", "train a model of this tool's format on a text (truncated BPTT, numba)"),
    "inspect": ("inspect_probe", "where a unit or feature direction fires over the text, and what removing it costs"),
    "convert": ("convert", "write any model read here (.pt, .safetensors, .npz) as a native .bin or .npz"),
    "export": ("export", "write states, bits and attributions of a range of positions to .npz (or JSON)"),
    "warmup": ("warmup", "compile every numba kernel now, so later starts load them from the cache"),
    "replay": ("replay", "recompute every figure a recorded session showed (--open: step through it in the app)"),
    "sweep": ("sweep", "run hundreds of whole-text edits (ablations, null directions) as tasks on a Dask cluster"),
}
