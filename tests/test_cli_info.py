"""`factormap-tui info`: the figures, JSON keys, and one-line usage errors with exit status 2."""

import json

import pytest

from factormap.engine.model import save_model
from factormap.tui.cli import main
from factormap.tui.fields import compact
from factormap.tui.glyphs import byte_label, escaped


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    return tmp_path / "m.bin", tmp_path / "t.txt"


def test_info_json(files, capsys):
    model, text = files
    assert main(["info", str(model), str(text), "--json", "--worst", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"]["hidden_size"] == 8
    assert data["text"]["bytes"] == text.stat().st_size
    assert len(data["worst_positions"]) == 3
    assert data["worst_positions"][0]["bits"] >= data["worst_positions"][1]["bits"]
    assert {"spectral_radius", "frobenius"} <= set(data["wh"])


def test_info_table(files, capsys):
    assert main(["info", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "bits per character" in out and "worst-predicted" in out


def _usage_error(argv, capsys, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:")
    for f in fragments:
        assert f in err, err


def test_missing_model(files, capsys, tmp_path):
    _usage_error(["info", str(tmp_path / "x.bin"), str(files[1])], capsys, "no such model file")


def test_swapped_arguments(files, capsys):
    _usage_error(["info", str(files[1]), str(files[0])], capsys, "swapped")


def test_empty_text(files, capsys, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    _usage_error(["info", str(files[0]), str(tmp_path / "empty.txt")], capsys, "empty")


def test_unknown_option(files, capsys):
    _usage_error(["info", *map(str, files), "--bogus"], capsys, "--bogus")


def test_only_one_file_for_the_app(files, capsys):
    _usage_error([str(files[0])], capsys, "both MODEL and TEXT")


def test_info_table_marks_the_target_without_styles(files, capsys):
    model, text = files
    assert main(["info", str(model), str(text), "--worst", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["worst_positions"]
    assert main(["info", str(model), str(text), "--worst", "5"]) == 0
    out = capsys.readouterr().out  # captured output carries no styles, as a pipe does not
    for row in rows:
        assert f"‖{escaped(row['target'].encode('latin-1'))}‖" in out
        assert f"{byte_label(row['predicted_byte'])} ({compact(row['predicted_prob'])})" in out
