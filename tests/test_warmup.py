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


def test_skipped_modules_stay_cold_and_the_app_skips_the_trainer():
    from factormap.tui.jobs import NOT_WARMED_BY_THE_APP, warm_kernels

    warmed = {w.module for w in warm_engine(skip=("factormap.engine.forward",))}
    assert "factormap.engine.forward" not in warmed and "factormap.engine.session" in warmed
    posted = []
    warm_kernels(posted.append)
    modules = [m.module for m in posted[:-1]]
    assert "training" not in modules and NOT_WARMED_BY_THE_APP == ("factormap.engine.kernels.training",)
    assert [m.done for m in posted[:-1]] == list(range(1, len(modules) + 1))
    assert all(m.total == len(modules) for m in posted[:-1])
