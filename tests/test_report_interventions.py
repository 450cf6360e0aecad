"""`factormap-tui report --only interventions`: JSON keys, the table, options and their usage errors."""

import json

import pytest

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.features import standard_features
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import SubtractAtReadout, SubtractEachStep
from factormap.engine.model import load_model, save_model
from factormap.engine.session import Session
from factormap.tui.cli import main
from factormap.tui.fields import compact, fixed
from tests.json_paths import at, has


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8, scale=0.5), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text * 3)
    return tmp_path / "m.bin", tmp_path / "t.txt"


def report(files, *extra):
    return ["report", *map(str, files), "--only", "interventions", *extra]


def test_json_names_the_quantities_and_matches_the_engine(files, capsys):
    assert main(report(files, "--json", "--band", "2", "--random-seeds", "3")) == 0
    data = json.loads(capsys.readouterr().out)["interventions"]
    for key in ("subtract_each_step.word_len.delta_bpc", "subtract_each_step.word_len.band.min",
                "subtract_each_step.word_len.band.max", "subtract_each_step.word_len.residual.r",
                "subtract_at_readout.in_tag.delta_bpc", "write_in_oracle.word_len.linear.delta_bpc",
                "write_in_oracle.word_len.conditional_mean.edits", "edit_weights.word_len.left.delta_bpc",
                "random_direction.delta_bpc", "random_direction.band.max"):
        assert has(data, key), key
    assert at(data, "band.n") == 2 and at(data, "random_direction.n") == 3
    for key in data["rows"]:
        assert at(data, f"{key}.band.min") <= at(data, f"{key}.delta_bpc") <= at(data, f"{key}.band.max")
    session = Session(load_model(files[0]), files[1].read_bytes())
    feats = standard_features(session.x)
    u = compute_factor_map(session, {k: feats[k] for k in ("word_len", "in_tag")}).readouts["word_len"].cov_direction
    direct = {"subtract_at_readout": SubtractAtReadout(u), "subtract_each_step": SubtractEachStep(u)}
    for name, spec in direct.items():
        assert at(data, f"{name}.word_len.delta_bpc") == pytest.approx(intervention_delta(session, [spec]).delta_bpc)


def test_table(files, capsys):
    assert main(report(files, "--band", "0", "--random-seeds", "2")) == 0
    out = capsys.readouterr().out
    for fragment in ("Interventions", "subtract_each_step.word_len", "subtract u_wl at every step",
                     "random_direction", "residual r"):
        assert fragment in out, fragment


@pytest.mark.parametrize("option,value", [("--band", "-1"), ("--random-seeds", "0"), ("--band-eps", "x")])
def test_bad_options_are_usage_errors(files, capsys, option, value):
    assert main(report(files, option, value)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err, err


def test_the_report_opens_with_the_finding(files, capsys):
    from factormap.tui.commands.report import summary_lines

    assert main(report_args := ["report", *map(str, files), "--band", "2", "--random-seeds", "2", "--nulls", "0",
                                "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(report_args[:-1]) == 0
    out = capsys.readouterr().out.splitlines()
    step = at(data, "interventions.subtract_each_step.word_len")
    assert out[0] == f"summary: BPC {Session(load_model(files[0]), files[1].read_bytes()).bpc:.4f}"
    assert f"r(h·u_wl, word_len) = {compact(at(data, 'factor_map.word_len.cov_direction.r'))}" in out[1]
    assert out[2] == (f"  ΔBPC removing u_wl at every step: {fixed(step['delta_bpc'], 4, signed=True)} "
                      f"(band {fixed(step['band']['min'], 4, signed=True)} … {fixed(step['band']['max'], 4, signed=True)}, "
                      "chaotic)")
    readout = at(data, "interventions.subtract_at_readout.word_len.delta_bpc")
    assert out[3].endswith(fixed(readout, 4, signed=True))
    assert summary_lines(0.5, {}) == ["summary: BPC 0.5000"]  # sections not run leave their lines out
