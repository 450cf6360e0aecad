"""`factormap-tui report --only bpc_breakdown`: JSON that names the quantities, equal to the engine's, and the tables."""

import json

import numpy as np
import pytest

from factormap.engine.model import load_model, save_model
from factormap.engine.session import Session
from factormap.tui.cli import main


@pytest.fixture
def files(tmp_path, random_model, sample_text):
    save_model(random_model(8, scale=0.5), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text * 2)
    return tmp_path / "m.bin", tmp_path / "t.txt"


def test_json_holds_the_breakdown_and_the_top_n_curve(files, capsys):
    assert main(["report", *map(str, files), "--only", "bpc_breakdown", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["bpc_breakdown"]
    breakdown, sparsity = data["breakdown"], data["gradient_sparsity"]
    session = Session(load_model(files[0]), files[1].read_bytes())
    bits = np.asarray(session.bits_range(0, session.n - 1), np.float64)
    assert breakdown["bpc"] == pytest.approx(bits.mean(), rel=1e-6)
    for key in ("by_class", "by_tag", "by_word_position"):
        groups = breakdown[key]
        assert sum(g["count"] for g in groups.values()) == session.n - 1
        assert sum(g["share"] for g in groups.values()) == pytest.approx(1.0)
        for g in groups.values():
            if g["count"]:
                assert bits[g["worst_position"]] >= g["mean_bits"] - 1e-6
    assert set(breakdown["by_class"]) == {"letter", "digit", "space", "punctuation", "markup", "other"}
    assert breakdown["by_class"]["other"]["mean_bits"] is None          # no such byte: null, not NaN
    assert breakdown["by_class"]["other"]["worst_position"] is None     # null, not the sentinel -1
    assert list(breakdown["by_tag"]) == ["outside_tags", "inside_tags"]  # snake_case quantity names
    assert breakdown["worst"]["bits"][0] == pytest.approx(bits.max(), rel=1e-6)
    assert sparsity["top_n"] == list(range(1, 9)) and sparsity["mean_share"][-1] == pytest.approx(1.0)
    assert np.all(np.diff(sparsity["mean_share"]) >= -1e-12)


def test_tables_name_each_breakdown(files, capsys):
    assert main(["report", *map(str, files), "--only", "bpc_breakdown"]) == 0
    out = capsys.readouterr().out
    for title in ("Bits by class of the predicted byte", "inside vs outside tags", "position in its word",
                  "Top-n share", "Worst"):
        assert title in out, title
