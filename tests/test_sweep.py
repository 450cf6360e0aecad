"""The sweep on Dask: the serial engine's numbers exactly, on a LocalCluster and on a scheduler and
workers started as separate processes (127.0.0.1 only); resume, Ctrl-C, a failing task, no Dask."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.errors import FactormapError
from factormap.engine.interventions.analysis import residual_readout
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import AblateNeurons, RandomDirection, SubtractAtReadout, SubtractEachStep
from factormap.engine.model import save_model
from factormap.engine.session import Session
from factormap.engine.sweep.cluster import MissingExtra, require_distributed, run_sweep
from factormap.engine.sweep.plan import parse_units, plan_sweep
from factormap.engine.sweep.results import COLUMNS, read_rows, write_rows
from factormap.engine.sweep.task import SweepInputs, feature_directions
from factormap.tui.cli import main
from tests.child_signals import terminal_signals

distributed = pytest.importorskip("distributed")

TEXT = b"<page><title>Hello World</title> some words here, and there </page>\n" * 120
CLI = [sys.executable, "-m", "factormap.tui.cli"]


@pytest.fixture(scope="module")
def warm():
    """Compiles (into the run's numba cache) every kernel the workers call, before any worker
    starts: the workers then load them instead of compiling the same kernels side by side."""
    from tests.naive import random_model_arrays
    from factormap.engine.model import Model

    session = Session(Model(**random_model_arrays(16, 0, 1.0)), TEXT[:600])
    for spec in (AblateNeurons(units=(0,)), RandomDirection(0), SubtractAtReadout(np.ones(16))):
        intervention_delta(session, [spec], keep_delta_bits=False)
    feature_directions(session, {"word_len": "word_len"})
    residual_readout(session, [SubtractEachStep(np.ones(16))], "word_len")


@pytest.fixture(scope="module")
def client(warm):
    """A client of a LocalCluster of 2 single-threaded worker processes on 127.0.0.1, no dashboard."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def files(tmp_path, random_model):
    """(model path, second model path, text path) of small float32 models and the text."""
    paths = tmp_path / "m.bin", tmp_path / "m2.bin", tmp_path / "t.txt"
    save_model(random_model(16, seed=0), paths[0])
    save_model(random_model(16, seed=1), paths[1])
    paths[2].write_bytes(TEXT)
    return paths


def _serial(session, edit: str) -> float:
    kind, target = edit.split(".")
    spec = AblateNeurons(units=(int(target),)) if kind == "ablate" else RandomDirection(int(target))
    return intervention_delta(session, [spec], keep_delta_bits=False).delta_bpc


def test_local_cluster_of_two_processes_gives_the_serial_numbers_exactly(client, random_model):
    model = random_model(16, seed=0)
    tasks = plan_sweep(1, units=tuple(range(8)), random_n=4, seed=3)
    assert len(tasks) == 12
    outcomes = list(run_sweep(client, SweepInputs("exact", (model,), TEXT), tasks))
    assert all(o.error is None for o in outcomes) and len(outcomes) == 12
    assert len({w["id"] for w in client.scheduler_info()["workers"].values()}) == 2
    session = Session(model, TEXT)
    for o in outcomes:
        assert o.figures["delta_bpc"] == _serial(session, o.task.edit), o.task.edit
        assert o.figures["baseline_bpc"] == session.bpc
    assert {o.task.edit for o in outcomes} == {f"ablate.{j}" for j in range(8)} | {f"random.{s}" for s in range(3, 7)}


def test_feature_subtractions_equal_report_engine_calls(client, random_model):
    model = random_model(16, seed=2)
    tasks = plan_sweep(1, subtract=("word_len", "caps"))
    inputs = SweepInputs("features", (model,), TEXT, {"caps": "[A-Z]"})
    got = {o.task.edit: o.figures for o in run_sweep(client, inputs, tasks)}
    session = Session(model, TEXT)
    from factormap.engine.factor_map.user_features import regex_feature

    caps = regex_feature(TEXT, "[A-Z]")
    u = feature_directions(session, {"word_len": "word_len", "caps": caps})
    for name, feature in (("word_len", "word_len"), ("caps", caps)):
        each = residual_readout(session, [SubtractEachStep(u[name])], feature, name)
        assert got[f"subtract_each_step.{name}"]["delta_bpc"] == each.result.delta_bpc
        assert got[f"subtract_each_step.{name}"]["residual_r"] == each.r
        at = intervention_delta(session, [SubtractAtReadout(u[name])], keep_delta_bits=False)
        assert got[f"subtract_at_readout.{name}"]["delta_bpc"] == at.delta_bpc
        assert math.isnan(got[f"subtract_at_readout.{name}"]["residual_r"])


def test_the_tasks_of_a_lost_worker_run_again_elsewhere(client, random_model):
    model = random_model(16, seed=7)
    victim = sorted(client.scheduler_info()["workers"])[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    outcomes = []
    for outcome in run_sweep(client, SweepInputs("lost", (model,), TEXT * 4), plan_sweep(1, random_n=12)):
        if not outcomes:  # the worker process dies mid-sweep; its nanny starts another in its place
            os.kill(pid, signal.SIGKILL)
        outcomes.append(outcome)
    assert victim not in client.scheduler_info()["workers"]
    session = Session(model, TEXT * 4)
    assert {o.task.edit: o.figures["delta_bpc"] for o in outcomes if o.error is None} == {
        f"random.{s}": _serial(session, f"random.{s}") for s in range(12)}
    client.wait_for_workers(2)


def test_parse_units_takes_ranges_and_lists_once_each():
    assert parse_units("0-3,7, 2,9-10") == (0, 1, 2, 3, 7, 9, 10)
    for bad in ("3-1", "a", "1-", "-2"):
        with pytest.raises(FactormapError):
            parse_units(bad)
    with pytest.raises(FactormapError, match="units are 0..15"):
        parse_units("0-16", 16)
    with pytest.raises(FactormapError, match="nothing to sweep"):
        plan_sweep(1)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_results_file_round_trips_every_number_and_refuses_a_foreign_file(tmp_path, suffix):
    rows = [{"model": "/m", "text": "/t", "edit": "ablate.1", "delta_bpc": 0.1 + 0.2, "bpc": 1 / 3,
             "baseline_bpc": 2 / 7, "residual_r": math.nan, "seconds": 1e-7}]
    path = tmp_path / f"out{suffix}"
    write_rows(path, rows)
    back = read_rows(path)
    assert back[0]["delta_bpc"] == rows[0]["delta_bpc"] and back[0]["bpc"] == rows[0]["bpc"]
    assert math.isnan(back[0]["residual_r"]) and list(back[0]) == list(COLUMNS)
    path.write_text("not, a, sweep\n1,2,3\n")
    with pytest.raises(FactormapError, match="not a sweep results file"):
        read_rows(path)
    assert path.read_text() == "not, a, sweep\n1,2,3\n"


def test_resume_skips_the_tasks_the_out_file_holds(client, files, capsys):
    model, _, text = files
    out = model.parent / "out.csv"
    address = client.scheduler.address
    assert main(["sweep", str(model), str(text), "--ablate-neurons", "0-3", "--scheduler", address,
                 "--out", str(out)]) == 0
    rows = read_rows(out)
    assert sorted(r["edit"] for r in rows) == [f"ablate.{j}" for j in range(4)]
    planted = [{**r, "delta_bpc": 123.0} if r["edit"] == "ablate.0" else r for r in rows]
    write_rows(out, planted)  # a skipped task is not recomputed: its planted figure stays
    capsys.readouterr()
    assert main(["sweep", str(model), str(text), "--ablate-neurons", "0-5", "--scheduler", address,
                 "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["tasks"], data["skipped"], data["finished"]) == (6, 4, 6)
    by_edit = {r["edit"]: r for r in read_rows(out)}
    assert by_edit["ablate.0"]["delta_bpc"] == 123.0 and len(by_edit) == 6
    session = Session(save_and_load(model), TEXT)
    for j in (4, 5):
        assert by_edit[f"ablate.{j}"]["delta_bpc"] == _serial(session, f"ablate.{j}")
    assert data["rows"][0]["edit"] == "ablate.0"  # sorted by ΔBPC, costliest first


def save_and_load(path: Path):
    from factormap.engine.model import load_model

    return load_model(path)


def test_every_edit_runs_on_every_model_of_models(client, files, capsys):
    model, model2, text = files
    assert main(["sweep", str(model), str(text), "--models", str(model2), "--random-directions", "2",
                 "--scheduler", client.scheduler.address, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    got = {(Path(r["model"]).name, r["edit"]): r["delta_bpc"] for r in data["rows"]}
    assert len(got) == 4
    for path in (model, model2):
        session = Session(save_and_load(path), TEXT)
        for seed in (0, 1):
            assert got[(path.name, f"random.{seed}")] == _serial(session, f"random.{seed}")


def test_a_task_that_fails_twice_is_reported_not_dropped(client, files, capsys):
    model, _, text = files
    status = main(["sweep", str(model), str(text), "--ablate-neurons", "1", "--feature", "never=QQQZ",
                   "--scheduler", client.scheduler.address, "--json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert status == 1
    assert sorted(f["edit"] for f in data["failed"]) == ["subtract_at_readout.never", "subtract_each_step.never"]
    assert "zero vector" in data["failed"][0]["error"]
    assert [r["edit"] for r in data["rows"]] == ["ablate.1"]
    assert "subtract_each_step.never of m.bin failed twice" in captured.err and "Traceback" not in captured.err


def test_a_feature_name_given_twice_is_a_usage_error(files, capsys):
    model, _, text = files
    assert main(["sweep", str(model), str(text), "--feature", "caps=[A-Z]", "--feature", "caps=[a-z]"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--feature: a feature named 'caps' already exists" in err, err


def test_without_dask_one_line_names_the_extra(monkeypatch, files, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtra, match=r"factormap-tui\[cluster\]"):
        require_distributed()
    model, _, text = files
    assert main(["sweep", str(model), str(text), "--ablate-neurons", "0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'factormap-tui[cluster]'" in err


def _wait_for(predicate, what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    """End a process the test started and everything in its process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_scheduler_and_workers_as_separate_processes(warm, files, tmp_path):
    """As on a cluster: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (free ports
    chosen by the scheduler), the command connecting by address; everything stopped at the end."""
    model, _, text = files
    address_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(dask + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                         "--scheduler-file", str(address_file)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs = [scheduler]
    try:
        _wait_for(lambda: address_file.is_file() and address_file.stat().st_size > 0, "the scheduler file")
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(address_file),
                  "--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"]
        procs.append(subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        run = subprocess.run(CLI + ["sweep", str(model), str(text), "--ablate-neurons", "0-2", "--random-directions",
                                    "2", "--scheduler", address, "--json"], capture_output=True, timeout=300)
        assert run.returncode == 0, run.stderr.decode()
        data = json.loads(run.stdout)
        session = Session(save_and_load(model), TEXT)
        assert {r["edit"]: r["delta_bpc"] for r in data["rows"]} == {
            e: _serial(session, e) for e in ("ablate.0", "ablate.1", "ablate.2", "random.0", "random.1")}
    finally:
        for proc in reversed(procs):
            _stop(proc)
    for proc in procs:  # the worker's own processes end shortly after it
        _wait_for(lambda: _group_gone(proc.pid), "the cluster's processes to end", limit=30)


def test_ctrl_c_cancels_the_tasks_and_keeps_the_finished_ones(warm, files):
    """SIGINT to a sweep on its own LocalCluster and to its workers: exit 130, one line and no
    traceback (the workers ignore it), the finished rows kept, no process left."""
    model, _, text = files
    text.write_bytes(TEXT * 20)
    out = model.parent / "out.json"
    proc = subprocess.Popen(CLI + ["sweep", str(model), str(text), "--random-directions", "400", "--workers", "2",
                                   "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=terminal_signals)
    try:
        _wait_for(lambda: out.is_file() or proc.poll() is not None, "the first finished task")
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the command and its workers
        _, err = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    rows = read_rows(out)
    assert proc.returncode == 130, err.decode()
    assert 1 <= len(rows) < 400
    assert re.search(rf"stopped: \d+ of 400 tasks finished, kept in {re.escape(str(out))}", err.decode())
    assert "Traceback" not in err.decode()
    _wait_for(lambda: _group_gone(proc.pid), "the cluster's processes to end", limit=30)


@pytest.mark.parametrize("full_states_limit", [0, 1 << 18])
def test_shards_recompute_the_sessions_states_and_merge_its_factor_map(client, random_model, full_states_limit):
    from factormap.engine.factor_map.compute import compute_factor_map
    from factormap.engine.sweep.shards import plan_shards, sharded_factor_map

    session = Session(random_model(16, seed=4), TEXT, checkpoint_every=64, chunk=256,
                      full_states_limit=full_states_limit)
    shards = plan_shards(session, 5)
    starts = [s.start for s in shards]
    assert starts == [0, 1536, 3328, 4864, 6656] and shards[-1].stop == session.n  # 32 chunks of 256 in 5
    assert all(a.stop == b.start for a, b in zip(shards, shards[1:]))
    x = np.frombuffer(TEXT, np.uint8)
    for shard in shards:
        got = np.concatenate([states for _, _, states in shard.chunks(session.model, x)])
        np.testing.assert_array_equal(got, session.states(shard.start, shard.stop))
    serial = compute_factor_map(session).to_dict()
    merged = sharded_factor_map(client, session, 5).to_dict()
    assert merged.keys() == serial.keys()
    for key, value in serial.items():
        if isinstance(value, float):
            assert merged[key] == pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True), key
        elif key.endswith((".counts", ".values", ".index")) or not isinstance(value, list) or key == "features":
            assert merged[key] == value, key
        else:
            np.testing.assert_allclose(np.array(merged[key], float), np.array(value, float), rtol=1e-10, atol=1e-12,
                                       err_msg=key)


def test_readout_only_edits_over_shards_give_the_serial_delta_bpc_bit_for_bit(client, random_model):
    from factormap.engine.sweep.shards import sharded_readout_delta

    session = Session(random_model(16, seed=5), TEXT, checkpoint_every=64, chunk=256, full_states_limit=0)
    rng = np.random.default_rng(0)
    sets = [[SubtractAtReadout(rng.standard_normal(16))], [AblateNeurons(units=(3, 7), where="readout")]]
    got = sharded_readout_delta(client, session, sets, 4)
    assert got == [intervention_delta(session, s, keep_delta_bits=False).delta_bpc for s in sets]
    with pytest.raises(ValueError, match="feed the recurrence"):
        sharded_readout_delta(client, session, [[RandomDirection(0)]], 2)


def test_attribution_summary_over_shards_keeps_the_exact_medians(client, random_model, monkeypatch):
    from factormap.engine.attribution import summary
    from factormap.engine.sweep.shard_attribution import sharded_attribution_summary

    monkeypatch.setattr(summary, "BLOCK", 512)  # 16 blocks of predictions, in 4 shards
    session = Session(random_model(16, seed=6), TEXT, checkpoint_every=64, chunk=256, full_states_limit=0)
    streamed = summary.attribution_summary(session, K=12, norms_budget=0)
    kept = summary.attribution_summary(session, K=12)  # medians by np.median of every norm
    got = sharded_attribution_summary(client, session, 4, K=12)
    np.testing.assert_array_equal(got.median_norm, streamed.median_norm)
    np.testing.assert_array_equal(got.median_norm, kept.median_norm)
    np.testing.assert_array_equal(got.peak_positions, kept.peak_positions)
    np.testing.assert_array_equal(got.count, kept.count)
    for name in ("mean_norm", "mean_abs_input_attr", "mean_abs_input_attr_exact", "energy", "neuron_energy"):
        np.testing.assert_allclose(getattr(got, name), getattr(streamed, name), rtol=1e-12, err_msg=name)
    assert got.top_share_k0 == pytest.approx(streamed.top_share_k0, rel=1e-12)
    assert got.grad_norms is None


def test_ctrl_c_on_an_existing_cluster_cancels_its_tasks_there(client, files):
    """The cluster outlives the command: after SIGINT no task of the sweep stays on the scheduler."""
    model, _, text = files
    text.write_bytes(TEXT * 20)
    out = model.parent / "out.csv"
    proc = subprocess.Popen(CLI + ["sweep", str(model), str(text), "--random-directions", "400", "--scheduler",
                                   client.scheduler.address, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=terminal_signals)
    try:
        _wait_for(lambda: out.is_file() or proc.poll() is not None, "the first finished task")
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    assert proc.returncode == 130, err.decode()
    assert 1 <= len(read_rows(out)) < 400

    def sweep_tasks(dask_scheduler) -> list:
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("factormap-task-")]

    _wait_for(lambda: not client.run_on_scheduler(sweep_tasks), "the scheduler to drop the sweep's tasks", limit=30)


@pytest.mark.parametrize("results_file", [None, "/tmp/out.csv"])
def test_the_table_names_a_results_file_only_where_there_is_one(results_file, capsys, monkeypatch):
    from factormap.tui.commands.sweep_view import render

    monkeypatch.setenv("COLUMNS", "54")
    rows = [{"model": "/m", "text": "/t", "edit": "ablate.1", "delta_bpc": 0.01, "bpc": 0.09,
             "baseline_bpc": 0.0792, "residual_r": math.nan, "seconds": 0.1}]
    render({"models": ["/m"], "text": "/t", "results_file": results_file, "tasks": 1, "skipped": 0,
            "finished": 1, "rows": rows, "failed": []})
    out = capsys.readouterr().out
    assert out.splitlines()[0].strip() == "Sweep: 1 of 1 tasks, costliest first"  # the title on one line
    flat = " ".join(out.split())  # the caption wraps at 54 columns
    assert ("read back from out.csv" in flat) == (results_file is not None)
    assert "results file" not in flat and "baseline 0.0792 BPC" in flat
