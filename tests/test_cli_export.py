"""`factormap-tui export` and the `attribution` report section: files, JSON keys, usage errors."""

import json

import numpy as np
import pytest

from factormap.engine.attribution.prediction import attribution
from factormap.engine.model import load_model, save_model
from factormap.engine.session import Session
from factormap.tui.cli import main


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8, seed=2), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    return tmp_path / "m.bin", tmp_path / "t.txt"


def _usage_error(argv, capsys, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:")
    for f in fragments:
        assert f in err, err


def test_export_npz_matches_the_engine(files, tmp_path, capsys):
    model_path, text_path = files
    out = tmp_path / "out.npz"
    text = text_path.read_bytes()
    n = len(text)
    assert main(["export", str(model_path), str(text_path), "--start", "3", "--stop", str(n), "--K", "5",
                 "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    data = np.load(out)
    session = Session(load_model(model_path), text)
    assert data["grad_norms"].shape == (n - 3, 6) and data["states"].shape == (n - 3, 8)
    np.testing.assert_array_equal(data["position"], np.arange(3, n))
    np.testing.assert_array_equal(data["byte"], np.frombuffer(text, np.uint8)[3:])
    np.testing.assert_allclose(data["states"], session.states(3, n))
    np.testing.assert_allclose(data["bits"][:-1], session.bits_range(3, n - 1))
    for t in (3, 4, 40, n - 2):
        att = attribution(session, t, 5)
        row = data["grad_norms"][t - 3]
        np.testing.assert_allclose(row[:att.K + 1], att.grad_norms, rtol=1e-4)
        np.testing.assert_allclose(data["input_attr"][t - 3, :att.K + 1], att.input_attr, rtol=1e-4, atol=1e-7)
        assert np.all(np.isnan(row[att.K + 1:]))
    assert np.isnan(data["bits"][-1]) and data["target"][-1] == -1 and np.all(np.isnan(data["grad_norms"][-1]))


def test_export_json_small_range(files, capsys):
    assert main(["export", *map(str, files), "--start", "10", "--stop", "14", "--K", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["position"] == [10, 11, 12, 13] and data["max_offset"] == 2
    assert len(data["grad_norms"]) == 4 and len(data["grad_norms"][0]) == 3


def test_export_refuses_large_json(tmp_path, random_model, capsys):
    save_model(random_model(4), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(b"abcd " * 500)
    _usage_error(["export", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"), "--json"], capsys, "at most 2000")


def test_export_never_overwrites_an_input(files, capsys):
    model_path, text_path = files
    before = text_path.read_bytes(), model_path.read_bytes()
    for target in (text_path, model_path):
        _usage_error(["export", *map(str, files), "--stop", "5", "-o", str(target)], capsys, "input file")
    assert (text_path.read_bytes(), model_path.read_bytes()) == before


@pytest.mark.parametrize("command", ["export", "convert"])
def test_an_existing_output_is_replaced_only_with_force(files, tmp_path, capsys, command):
    model_path, text_path = files
    out = tmp_path / "old.npz"
    out.write_bytes(b"old contents")
    (tmp_path / "link.npz").symlink_to(tmp_path / "gone.npz")  # dangling: writing would replace the link
    argv = ["export", str(model_path), str(text_path), "--stop", "5"] if command == "export" else \
        ["convert", str(model_path)]
    for target in (out, tmp_path / "link.npz"):
        _usage_error([*argv, "-o", str(target)], capsys, f"-o {target} exists", "--force")
    assert out.read_bytes() == b"old contents" and (tmp_path / "link.npz").is_symlink()
    assert main([*argv, "-o", str(out), "--force"]) == 0
    assert np.load(out)["Wh" if command == "convert" else "states"].shape[-1] == 8


@pytest.mark.parametrize("extra,fragment", [
    (["--start", "5", "--stop", "5", "-o", "x.npz"], "less than"),
    (["--stop", "100000", "-o", "x.npz"], "past the end"),
    (["--K", "-1", "-o", "x.npz"], "--K"),
    ([], "-o OUT.npz"),
])
def test_export_usage_errors(files, capsys, tmp_path, monkeypatch, extra, fragment):
    monkeypatch.chdir(tmp_path)
    _usage_error(["export", *map(str, files), *extra], capsys, fragment)
    assert not (tmp_path / "x.npz").exists()


def test_report_attribution_section(files, capsys):
    assert main(["report", *map(str, files), "--only", "attribution", "--K", "6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["attribution"]
    assert data["max_offset"] == 6 and len(data["growth"]["mean_ratio"]) == 7
    assert data["growth"]["mean_ratio"][0] == 1.0 and 0 < data["energy"]["top10_share_k0"] <= 1
    assert {"mean_abs"} <= set(data["input_attr"]) and len(data["neurons"]["by_energy"]) == 8
    assert main(["report", *map(str, files), "--only", "attribution", "--K", "6"]) == 0
    out = capsys.readouterr().out
    assert "Backward attribution" in out and "top-10 energy share" in out and "Neurons by gradient energy" in out


def test_position_arrays_do_not_depend_on_the_block_size(files, monkeypatch):
    from factormap.engine import export as export_module
    from factormap.engine.export import position_arrays

    model_path, text_path = files
    session = Session(load_model(model_path).astype(np.float64), text_path.read_bytes())
    whole = position_arrays(session, 2, session.n, K=4)
    monkeypatch.setattr(export_module, "BLOCK", 7)
    fractions = []
    pieces = position_arrays(session, 2, session.n, K=4, progress=fractions.append)
    for name in ("grad_norms", "input_attr", "input_attr_exact", "top10_share", "bits", "states"):
        np.testing.assert_allclose(pieces[name], whole[name], rtol=1e-10, atol=1e-13, err_msg=name)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 5
