"""The command line on PyTorch checkpoints: `convert`, `--precision float64`, and the trust figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from factormap.engine.chaos import chaos
from factormap.engine.model import load_model
from factormap.engine.session import Session
from factormap.tui.cli import main
from tests.test_checkpoints import linear, torch_rnn
from tests.torch_format import write_torch_zip

TEXT = b"def convert(model, path):\n    return save(model, path)\n" * 4


@pytest.fixture
def files(tmp_path):
    state = {"rnn": torch_rnn(H=6), "head": linear(H=6)}
    state["head"]["bias"][0] = -np.inf  # byte 0 is never predicted
    write_torch_zip(tmp_path / "m.pt", state)
    (tmp_path / "t.txt").write_bytes(TEXT)
    return tmp_path / "m.pt", tmp_path / "t.txt"


@pytest.mark.parametrize("suffix", [".bin", ".npz"])
def test_convert_round_trip_is_bit_identical(files, tmp_path, capsys, suffix):
    model_path, _ = files
    out = tmp_path / f"native{suffix}"
    assert main(["convert", str(model_path), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["hidden_size"] == 6 and report["format"] == suffix[1:]
    a, b = load_model(model_path), load_model(out)
    for name in ("Wx", "Wh", "bh", "Wy", "by"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def _usage_error(argv, capsys, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:") and fragment in err


def test_convert_refusals_write_nothing(files, tmp_path, capsys):
    model_path, text = files
    write_torch_zip(tmp_path / "lstm.pt", {"rnn": {**torch_rnn(H=6), "weight_hh_l0": np.zeros((24, 6), np.float32)},
                                           "head": linear(H=6)})
    _usage_error(["convert", str(tmp_path / "lstm.pt"), "-o", str(tmp_path / "x.bin")], capsys, "LSTM")
    _usage_error(["convert", str(model_path), "-o", str(tmp_path / "x.txt")], capsys, ".bin")
    assert main(["convert", str(model_path), "-o", str(tmp_path / "n.bin")]) == 0
    before = (tmp_path / "n.bin").read_bytes()
    capsys.readouterr()
    _usage_error(["convert", str(tmp_path / "n.bin"), "-o", str(tmp_path / "n.bin")], capsys, "is an input file")
    assert (tmp_path / "n.bin").read_bytes() == before
    _usage_error(["convert", str(model_path)], capsys, "-o")
    assert not (tmp_path / "x.bin").exists() and not (tmp_path / "x.txt").exists()
    assert load_model(model_path).H == 6  # the input is untouched


def test_info_in_float64_gives_the_float64_figures(files, capsys):
    model_path, text = files
    assert main(["info", str(model_path), str(text), "--json", "--precision", "float64"]) == 0
    data = json.loads(capsys.readouterr().out)
    model64 = load_model(model_path, np.float64)
    assert data["precision"] == "float64"
    assert data["bpc"] == Session(model64, TEXT).bpc
    found = chaos(model64, TEXT)
    assert data["trust_horizon"] == {"position": found.horizon, "tolerance": found.tolerance,
                                     "max_divergence": found.max_divergence, "positions": len(TEXT)}
    assert data["lyapunov_exponent"]["nats_per_step"] == found.lyapunov


def test_info_default_is_float32_and_names_the_trust_figures(files, capsys):
    assert main(["info", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and "trust horizon" in out and "Lyapunov" in out


def test_report_and_export_say_their_precision(files, tmp_path, capsys):
    model_path, text = files
    assert main(["report", str(model_path), str(text), "--json", "--only", "bpc_breakdown",
                 "--precision", "float64"]) == 0
    assert json.loads(capsys.readouterr().out)["precision"] == "float64"
    out = tmp_path / "e.npz"
    assert main(["export", str(model_path), str(text), "--stop", "20", "-o", str(out), "--precision", "float64"]) == 0
    with np.load(out) as arrays:
        assert str(arrays["precision"]) == "float64"
        assert arrays["states"].dtype == np.float64 and arrays["bits"].dtype == np.float64
        np.testing.assert_array_equal(arrays["bits"][:19],
                                      Session(load_model(model_path, np.float64), TEXT).bits_range(0, 19))
