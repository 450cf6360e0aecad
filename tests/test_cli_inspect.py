"""`factormap-tui inspect`: JSON keys naming the quantities, figures equal to the engine's, tables,
and one-line usage errors."""

import json

import numpy as np
import pytest

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.interventions.directions import feature_direction
from factormap.engine.model import array_shapes, load_model, save_model
from factormap.engine.session import Session
from factormap.tui.cli import main
from factormap.tui.glyphs import escaped


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8, seed=2), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    return str(tmp_path / "m.bin"), str(tmp_path / "t.txt")


def _json(argv, capsys) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_inspect_a_neuron_as_json(files, capsys, sample_text):
    data = _json(["inspect", *files, "--neuron", "3", "--top", "4", "--bins", "5", "--threshold", "0.2",
                  "--nulls", "3", "--samples", "8", "--feature", "cap=[A-Z]", "--json"], capsys)
    session = Session(load_model(files[0]), sample_text)
    a = session.states(0, session.n)[:, 3].astype(np.float64)
    order = np.lexsort((np.arange(a.size), -a))[:4]
    assert data["top_positions"] == order.tolist() and data["top_values"] == a[order].tolist()
    assert data["bottom_positions"] == np.lexsort((np.arange(a.size), a))[:4].tolist()
    counts, edges = np.histogram(a, bins=5)
    assert data["histogram"] == {"edges": edges.tolist(), "counts": counts.tolist()}
    assert data["fraction_above"] == {"threshold": 0.2, "value": float(np.mean(a >= 0.2))}
    t = data["top_positions"][0]
    ctx = data["top_contexts"][0]
    assert (ctx["before"] + ctx["byte"] + ctx["after"]).encode("latin-1") == sample_text[max(0, t - 24):t + 13]
    assert set(data["correlation"]) == {"word_len", "in_tag", "tag_depth", "after_space", "cap"}
    assert 1 <= data["gradient_energy"]["rank"] <= 9 and data["gradient_energy"]["samples"] == 8
    causal = data["causal"]
    assert set(causal["each_step"]) >= {"delta_bpc", "percentile", "z", "null_mean", "null_sd"}
    assert causal["through_recurrence"]["delta_bpc"] == pytest.approx(
        causal["each_step"]["delta_bpc"] - causal["readout"]["delta_bpc"])


def test_inspect_a_feature_direction_as_tables(files, capsys, sample_text):
    assert main(["inspect", *files, "--direction", "word_len", "--top", "3", "--nulls", "0", "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "u_word_len: the 3 highest positions" in out and "histogram" in out and "rank by gradient energy" in out
    assert "ΔBPC removed" not in out  # --nulls 0: no causal cost
    data = _json(["inspect", *files, "--direction", "word_len", "--top", "3", "--nulls", "0", "--samples", "4",
                  "--json"], capsys)
    session = Session(load_model(files[0]), sample_text)
    u = feature_direction(compute_factor_map(session, ("word_len",)), "word_len")
    a = session.states(0, session.n).astype(np.float64) @ u
    assert data["probe"] == "u_word_len" and "causal" not in data
    np.testing.assert_allclose(data["top_values"], np.sort(a)[::-1][:3], rtol=1e-12)


@pytest.mark.parametrize("extra, fragment", [
    (["--neuron", "8"], "unit 8 does not exist"),
    (["--direction", "nope"], "no feature named 'nope'"),
    (["--neuron", "1", "--feature", "x=(["], "invalid regular expression"),
    (["--neuron", "1", "--feature-file", "in_tag=f.txt"], "--feature-file: a feature named 'in_tag' already exists"),
    ([], "one of the arguments --neuron --direction is required"),
    (["--neuron", "1", "--direction", "word_len"], "not allowed with"),
    (["--neuron", "1", "--threshold", "nan"], "expected a finite number"),
])
def test_inspect_usage_errors_are_one_line(files, capsys, extra, fragment):
    assert main(["inspect", *files, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:") and fragment in err, err


def test_inspect_on_a_pipe_writes_no_blank_line_and_an_error_is_one_line(files, tmp_path, capsys):
    """rich's progress display writes a newline when it stops where stderr is no terminal."""
    assert main(["inspect", *files, "--neuron", "1", "--nulls", "2", "--samples", "4"]) == 0
    assert capsys.readouterr().err == ""
    top = np.finfo(np.float32).max  # the causal cost's edit overflows float32: an error after the passes began
    np.savez(tmp_path / "top.npz", **{n: np.full(s, top, np.float32) for n, s in array_shapes(8).items()})
    assert main(["inspect", str(tmp_path / "top.npz"), files[1], "--neuron", "0", "--nulls", "2", "--samples", "4"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:") and "too large" in err, repr(err)


def test_inspect_tables_mark_the_byte_at_t_without_styles_and_name_the_rank_a_sample(files, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # the rank's label on one line
    data = _json(["inspect", *files, "--neuron", "1", "--top", "3", "--nulls", "0", "--samples", "4", "--json"], capsys)
    assert main(["inspect", *files, "--neuron", "1", "--top", "3", "--nulls", "0", "--samples", "4"]) == 0
    out = capsys.readouterr().out  # captured output carries no styles, as a pipe does not
    assert "reversed" not in out and "context‖byte at t‖after" in out
    for ctx in data["top_contexts"]:
        assert f"‖{escaped(ctx['byte'].encode('latin-1'))}‖" in out
    assert f"over a sample of 4 evenly spaced predictions of the {data['n'] - 1:,}" in out
