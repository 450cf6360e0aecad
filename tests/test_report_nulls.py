"""The report's interventions section compares every direction edit with its matched null."""

import json

import numpy as np
import pytest

from factormap.engine.interventions.directions import random_unit_direction
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import SubtractAtReadout
from factormap.engine.model import load_model, save_model
from factormap.engine.session import Session
from factormap.tui.cli import main
from tests.json_paths import at, has


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8, seed=2), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    return str(tmp_path / "m.bin"), str(tmp_path / "t.txt")


def test_direction_edits_get_percentile_z_and_null_figures(files, capsys, sample_text):
    assert main(["report", *files, "--only", "interventions", "--band", "0", "--random-seeds", "2",
                 "--nulls", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["interventions"]
    key = "subtract_at_readout.word_len"
    session = Session(load_model(files[0]), sample_text)
    null = np.array([intervention_delta(session, [SubtractAtReadout(random_unit_direction(s, 8))]).delta_bpc
                     for s in range(3)])
    value = at(data, f"{key}.delta_bpc")
    assert at(data, f"{key}.percentile") == pytest.approx(100 * np.mean(null < value) + 50 * np.mean(null == value))
    assert at(data, f"{key}.null_mean") == pytest.approx(null.mean())
    assert at(data, f"{key}.null_sd") == pytest.approx(null.std(ddof=1))
    assert at(data, f"{key}.z") == pytest.approx((value - null.mean()) / null.std(ddof=1))
    for with_null in ("subtract_each_step.word_len", "write_in_oracle.word_len.linear", "subtract_each_step.in_tag"):
        assert at(data, f"{with_null}.null_n") == 3
    assert not has(data, "edit_weights.word_len.left.percentile")  # no direction to randomise
    assert at(data, "through_recurrence.word_len.delta_bpc") == pytest.approx(
        at(data, "subtract_each_step.word_len.delta_bpc") - value)


def test_no_nulls_when_asked(files, capsys):
    assert main(["report", *files, "--only", "interventions", "--band", "0", "--random-seeds", "1",
                 "--nulls", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["interventions"]
    assert not any(key.endswith(".percentile") for key in data)
