"""The shell's jobs, tested directly: the `]` jump's threshold and the export names it claims."""

import math

import numpy as np
import pytest

from factormap.engine.errors import OutputError
from factormap.tui import jobs


@pytest.mark.parametrize("size", [1, 2, 49, 50, 51, 100, 999, 1234])
def test_high_threshold_is_the_nearest_rank_percentile_of_the_finite_values(rng, size):
    values = rng.normal(size=size)
    values[rng.random(size) < 0.1] = np.nan
    values[rng.random(size) < 0.05] = np.inf
    finite = values[np.isfinite(values)]
    expect = np.percentile(finite, jobs.HIGH_PERCENTILE, method="inverted_cdf") if finite.size else math.nan
    got = jobs.high_threshold(values)
    assert got == expect or (math.isnan(got) and math.isnan(expect))
    if finite.size:  # at least 98% of the values are at or below it, and it is one of them
        assert np.mean(finite <= got) >= jobs.HIGH_PERCENTILE / 100 and got in finite


def test_high_threshold_by_hand():
    assert jobs.high_threshold(np.arange(1.0, 101.0)) == 98.0
    assert jobs.high_threshold(np.array([5.0, np.nan, -np.inf])) == 5.0
    assert math.isnan(jobs.high_threshold(np.array([np.nan, np.inf])))


def test_high_threshold_of_the_positive_values_only():
    values = np.concatenate([-np.arange(1000.0), np.arange(1.0, 51.0)])
    assert jobs.high_threshold(values, positive_only=True) == 49.0  # ceil(0.98 * 50) = 49th of 1..50
    assert math.isnan(jobs.high_threshold(-np.arange(5.0), positive_only=True))


def test_each_export_claims_its_own_name_before_it_is_written(tmp_path):
    model, text = tmp_path / "m.bin", tmp_path / "t.txt"
    first = jobs.reserve_export_path(model, text, 7, folder=tmp_path)
    second = jobs.reserve_export_path(model, text, 7, folder=tmp_path)  # the first is not written yet
    assert (first.name, second.name) == ("factormap_m_t_t7.npz", "factormap_m_t_t7-1.npz")
    assert first.read_bytes() == b"" and second.read_bytes() == b""
    first.write_bytes(b"written")
    jobs.release_export(first, second)  # only the unwritten claim goes
    assert first.read_bytes() == b"written" and not second.exists()


def test_side_by_side_files_claim_one_name_free_under_every_suffix(tmp_path):
    model, text = tmp_path / "m.bin", tmp_path / "t.txt"
    (tmp_path / "factormap_m_t_t0.json").write_bytes(b"{}")
    svg = jobs.reserve_export_path(model, text, 0, folder=tmp_path, suffixes=(".svg", ".json"))
    assert svg.name == "factormap_m_t_t0-1.svg" and svg.with_suffix(".json").exists()
    assert not (tmp_path / "factormap_m_t_t0.svg").exists()  # the half-free name was let go


def test_claiming_a_name_in_a_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        jobs.reserve_export_path(tmp_path / "m.bin", tmp_path / "t.txt", 0, folder=tmp_path / "gone")
