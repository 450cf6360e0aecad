"""`factormap-tui warmup`: every engine module's warm() is found and run."""

import json
import threading

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
    assert OWN_WARMERS <= {m["module"] for m in data["modules"]}
    assert data["total_seconds"] >= 0


def test_skipped_modules_stay_cold_and_the_app_skips_the_trainer():
    from factormap.tui.jobs import NOT_WARMED_BY_THE_APP, warm_kernels

    warmed = {w.module for w in warm_engine(skip=("factormap.engine.forward",))}
    assert "factormap.engine.forward" not in warmed and "factormap.engine.session" in warmed
    posted = []
    warm_kernels(posted.append)
    modules = [m.module for m in posted[:-1]]
    assert "training" not in modules and "fastmath" not in modules and "moments" not in modules
    assert set(NOT_WARMED_BY_THE_APP) == {"factormap.engine.kernels.training", "factormap.engine.kernels.fastmath",
                                          "factormap.engine.kernels.moments"}
    assert [m.done for m in posted[:-1]] == list(range(1, len(modules) + 1))
    assert all(m.total == len(modules) for m in posted[:-1])


SIGNATURES_AFTER_APP_WARMUP = """
import json
from numba.core.registry import CPUDispatcher
from factormap.engine.warmup import engine_modules
from factormap.tui.jobs import warm_kernels
import importlib
warm_kernels(lambda message: None)
found = {}
for name in engine_modules():
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        if isinstance(value, CPUDispatcher) and value.__module__ == name:
            found[name + "." + attr] = [str(sig) for sig in value.signatures]
print(json.dumps(found))
"""


def test_the_app_compiles_only_the_fast_float32_kernels():
    """A fresh process running the app's warm-up holds float32 signatures of the kernels the
    explorer calls, and none of the float64, exact or trainer ones."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", SIGNATURES_AFTER_APP_WARMUP], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    compiled = {name: sigs for name, sigs in json.loads(out).items() if sigs}
    kernels = "factormap.engine.kernels."
    assert {kernels + "recurrence.recur_fast_kernel", kernels + "readout.readout_kernel",
            kernels + "backprop.backprop_kernel", kernels + "block_backprop.offsets_kernel"} <= set(compiled)
    float64_weights = "Array(float64, 2, 'C', True"  # models pass their weights read-only
    assert not any(float64_weights in sig for sigs in compiled.values() for sig in sigs)
    assert kernels + "recurrence.recur_exact_kernel" not in compiled
    assert not any(name.startswith((kernels + "training", kernels + "fastmath")) for name in compiled)
    assert all(len(sigs) == 1 for sigs in compiled.values()), compiled


class _RecordedChild:
    """Stands in for a ChildWarmup: records when the parent waits for it; shares ``shared`` through
    the claims folder ``claims``."""

    def __init__(self, modules, log, shared=(), claims=None):
        self.modules, self.log, self.shared, self.claims = tuple(modules), log, tuple(shared), claims
        self.loaded = threading.Event()

    def claim(self, name):
        from factormap.engine.warmup import claim_module

        return name not in self.shared or claim_module(self.claims, name)

    def wait(self, timeout=None):
        self.log.append("wait")
        return True


def test_modules_compiled_ahead_are_warmed_last_after_the_child_ends():
    log = []
    ahead = _RecordedChild(["factormap.engine.kernels.readout"], log)
    warmed = warm_engine(lambda w: log.append(w.module), skip=("factormap.engine.kernels.training",),
                         exact=False, ahead=ahead)
    assert log[-2:] == ["wait", "factormap.engine.kernels.readout"]
    assert [w.module for w in warmed] == [m for m in log if m != "wait"]
    assert "factormap.engine.kernels.readout" not in log[:-2]
    assert ahead.loaded.is_set()


def test_the_first_runs_split_names_modules_the_app_warms_each_once():
    """What the launch hands the child or shares: each a module the app warms, none named twice (a
    misspelt name is imported only on a first run, where it would fail the opening), the shared ones
    in the order the app reaches them."""
    from factormap.engine.warmup import warmed_modules
    from factormap.tui.jobs import NOT_WARMED_BY_THE_APP
    from factormap.tui.launch import COMPILED_AHEAD, COMPILED_BY_EITHER

    named = [*COMPILED_AHEAD, *COMPILED_BY_EITHER]
    assert len(set(named)) == len(named)
    assert set(named) <= set(warmed_modules(skip=NOT_WARMED_BY_THE_APP))
    app_order = [name for name in warmed_modules(skip=NOT_WARMED_BY_THE_APP) if name in COMPILED_BY_EITHER]
    assert app_order == list(COMPILED_BY_EITHER)  # both claim in one order (bench/compile_bench.py assumes it)


def test_a_shared_module_the_child_claimed_first_is_loaded_after_it_ends_and_one_the_app_claimed_in_order(tmp_path):
    from factormap.engine.warmup import claim_module

    log = []
    claims = str(tmp_path)
    assert claim_module(claims, "factormap.engine.kernels.value_bins")  # the child got there first
    shared = ("factormap.engine.kernels.value_bins", "factormap.engine.session")
    ahead = _RecordedChild(["factormap.engine.kernels.readout"], log, shared, claims)
    warm_engine(lambda w: log.append(w.module), skip=("factormap.engine.kernels.training",), exact=False,
                ahead=ahead)
    assert log[-3:] == ["wait", "factormap.engine.kernels.readout", "factormap.engine.kernels.value_bins"]
    assert "factormap.engine.session" in log[:-3]
    assert not claim_module(claims, "factormap.engine.session")  # the child will leave it alone


def test_the_child_warms_its_modules_then_the_shared_ones_it_claims(tmp_path, monkeypatch):
    import sys
    import types

    from factormap.engine import warmup

    warmed = []
    for name in ("own", "taken", "free"):
        module = types.ModuleType(f"factormap.engine.fake_{name}")
        module.warm = lambda exact, name=name: warmed.append((name, exact))
        monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(warmup, "needs_compiling", lambda name: True)
    assert warmup.claim_module(str(tmp_path), "factormap.engine.fake_taken")  # the app claimed it
    assert warmup.main(["--fast", "--claims", str(tmp_path), "--shared=factormap.engine.fake_taken",
                        "--shared=factormap.engine.fake_free", "factormap.engine.fake_own"]) == 0
    assert warmed == [("own", False), ("free", False)]
    assert not warmup.claim_module(str(tmp_path), "factormap.engine.fake_free")


class _HeldChild:
    """Stands in for a ChildWarmup still compiling the attribution kernels until ``release`` is set."""

    modules = ("factormap.engine.kernels.backprop",)

    def claim(self, name):
        return True

    def __init__(self):
        self.release, self.loaded = threading.Event(), threading.Event()

    def wait(self, timeout=None):
        return self.release.wait(timeout)


async def test_the_attribution_panes_wait_while_a_child_compiles_their_kernels():
    from factormap.tui.app import FactormapApp
    from factormap.tui.widgets.attribution_pane import AttributionPane
    from factormap.tui.widgets.oscilloscope import Oscilloscope
    from tests.app_helpers import make_app, settle

    plain = make_app()
    child = _HeldChild()
    app = FactormapApp(plain.session, plain.model_path, plain.text_path, warmup_ahead=child)
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            for _ in range(30):
                await pilot.pause(0.02)
            pane, scope = app.screen.query_one(AttributionPane), app.screen.query_one(Oscilloscope)
            assert pane.attribution is None and not child.loaded.is_set()
            assert scope.neurons == (0, 1, 2, 3)  # the first four until the ranking is ready
        finally:
            child.release.set()  # else the warm-up worker would keep the app from ending
        await settle(pilot)
        assert child.loaded.is_set() and pane.attribution is not None and pane.attribution.t == 0


CHILD_FILLS_THE_CACHE = """
import json
from factormap.engine.warmup import needs_compiling, start_child_warmup
module = "factormap.engine.kernels.fastmath"
before = needs_compiling(module)
child = start_child_warmup([module], exact=False)
ok = child.wait()
print(json.dumps({"before": before, "modules": child.modules, "ok": ok, "after": needs_compiling(module),
                  "again": start_child_warmup([module]) is None}))
"""


def test_a_child_process_fills_an_empty_cache_and_is_not_started_once_it_is_full(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", CHILD_FILLS_THE_CACHE], capture_output=True, text=True, env=env,
                         check=True, timeout=300).stdout
    assert json.loads(out) == {"before": True, "modules": ["factormap.engine.kernels.fastmath"], "ok": True,
                               "after": False, "again": True}
    assert any(p.suffix == ".nbc" for p in tmp_path.rglob("*"))


def test_a_cache_filled_for_other_cpu_features_counts_as_empty(tmp_path):
    import os
    import subprocess
    import sys

    import llvmlite.binding as llvm

    other = f"{llvm.get_host_cpu_features().flatten()},+prefer-128-bit"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("NUMBA_CPU_FEATURES", None)

    def run(code: str, **extra: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **extra},
                              check=True, timeout=300).stdout.strip()

    fill = ("from factormap.engine.kernels import fastmath; fastmath.warm(exact=False); "
            "from factormap.engine.warmup import needs_compiling; "
            "print(needs_compiling('factormap.engine.kernels.fastmath'))")
    assert run(fill, NUMBA_CPU_FEATURES=other) == "False"
    check = "from factormap.engine.warmup import needs_compiling; print(needs_compiling('factormap.engine.kernels.fastmath'))"
    assert run(check) == "True"
    assert run(check, NUMBA_CPU_FEATURES=other) == "False"


def test_no_child_when_no_process_can_be_started(monkeypatch):
    import subprocess

    from factormap.engine import warmup

    def refuse(*args, **kwargs):
        raise OSError("fork: resource temporarily unavailable")

    monkeypatch.setattr(warmup, "needs_compiling", lambda name: True)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert warmup.start_child_warmup(["factormap.engine.kernels.backprop"]) is None
