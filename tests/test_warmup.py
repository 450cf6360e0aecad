"""`factormap-tui warmup`: every engine module's warm() is found and run."""

import json

from factormap.engine.warmup import engine_modules, warm_engine
from factormap.tui.cli import main

OWN_WARMERS = {
    "factormap.engine.forward",
    "factormap.engine.session",
    "factormap.engine.kernels.fastmath",
    "factormap.engine.kernels.readout",
    "factormap.engine.kernels.recurrence",
}


def test_engine_modules_include_subpackages():
    names = engine_modules()
    assert "factormap.engine.kernels.recurrence" in names
    assert "factormap.engine.warmup" in names


def test_warm_engine_calls_every_warm_function():
    seen = []
    warmed = warm_engine(seen.append)
    assert seen == warmed
    assert OWN_WARMERS <= {w.module for w in warmed}
    assert all(w.seconds >= 0 for w in warmed)


def test_warmup_command_prints_json(capsys):
    assert main(["warmup", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert OWN_WARMERS <= set(data["modules"])
    assert data["total_seconds"] >= 0
