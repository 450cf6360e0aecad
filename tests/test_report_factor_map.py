"""`factormap-tui report --only factor_map`: JSON keys, tables, user features and their usage errors."""

import json

import numpy as np
import pytest

from factormap.engine.factor_map.user_features import regex_feature
from factormap.engine.model import save_model
from factormap.tui.cli import main
from tests.json_paths import at, has


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    return tmp_path / "m.bin", tmp_path / "t.txt"


def report(files, *extra):
    return ["report", *map(str, files), "--only", "factor_map", *extra]


def test_json_names_the_quantities(files, capsys):
    assert main(report(files, "--json", "--min-support", "3")) == 0
    data = json.loads(capsys.readouterr().out)["factor_map"]
    for key in ("word_len.cov_direction.r", "word_len.best_neuron.r", "word_len.cond_means.max_distance",
                "cosines.word_len.in_tag", "space_reset", "propagation.word_len.wh_v_norm",
                "input_cosines.space.word_len.pc1_direction"):
        assert has(data, key), key
    assert data["min_support"] == 3
    assert len(at(data, "propagation.word_len.power_norms")) == 16
    assert min(at(data, "word_len.cond_means.counts")) >= 3


def test_regex_and_file_features_are_read_out(files, capsys, tmp_path, sample_text):
    numbers = tmp_path / "f.txt"
    np.savetxt(numbers, np.arange(len(sample_text)) % 5, fmt="%d")
    assert main(report(files, "--json", "--feature", "vowel=[aeiou]", "--feature-file", f"mod5={numbers}")) == 0
    data = json.loads(capsys.readouterr().out)["factor_map"]
    assert data["features"][-2:] == ["vowel", "mod5"]
    vowels = regex_feature(sample_text, "[aeiou]")
    assert at(data, "vowel.cond_means.counts") == [int(np.sum(vowels == 0)), int(np.sum(vowels == 1))]
    assert has(data, "cosines.word_len.vowel") and has(data, "propagation.mod5.wh_v_norm")


def test_tables(files, capsys):
    assert main(report(files, "--min-support", "3", "--feature", "tag=<[^>]*>")) == 0
    out = capsys.readouterr().out
    for fragment in ("Factor map", "word_len", "tag", "space reset", "W_h propagation", "E[h|word_len=k]"):
        assert fragment in out, fragment


def _usage_error(argv, capsys, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:"), err
    for f in fragments:
        assert f in err, err


def test_bad_regex(files, capsys):
    _usage_error(report(files, "--feature", "x=("), capsys, "--feature: x:", "invalid regular expression")


def test_malformed_and_duplicate_specs(files, capsys):
    _usage_error(report(files, "--feature", "novalue"), capsys, "NAME=VALUE")
    _usage_error(report(files, "--feature", "a.b=x"), capsys, "feature name")
    _usage_error(report(files, "--json", "--feature", "word_len=x"), capsys, "already exists")
    _usage_error(report(files, "--json", "--feature", "v=x", "--feature", "v=y"), capsys,
                 "--feature: a feature named 'v' already exists")
    _usage_error(report(files, "--json", "--feature", "v=x", "--feature-file", "v=f.txt"), capsys,
                 "--feature-file: a feature named 'v' already exists")


def test_feature_file_errors(files, capsys, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("1\n2\n")
    _usage_error(report(files, "--json", "--feature-file", f"s={short}"), capsys, "holds 2 numbers but the text has")
    _usage_error(report(files, "--json", "--feature-file", f"s={tmp_path / 'absent'}"), capsys, "no such feature file")


def test_min_support_must_be_positive(files, capsys):
    _usage_error(report(files, "--min-support", "0"), capsys, "--min-support")
    _usage_error(report(files, "--min-support", "many"), capsys, "--min-support")
