"""report's table titles and captions are lines of the console's width, not wrapped to a narrow table."""

from factormap.engine.model import save_model
from factormap.tui.cli import main


def test_titles_and_captions_do_not_wrap_to_the_table(tmp_path, random_model, sample_text, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    save_model(random_model(8), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    assert main(["report", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"), "--only", "bpc_breakdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Top-n share of ‖g_0‖²" in lines  # the table is 20 columns wide; its title used to wrap in four
    assert max(len(line) for line in lines) <= 100
