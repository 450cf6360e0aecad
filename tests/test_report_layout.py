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


def _tables(lines: list[str]) -> list[list[str]]:
    """Each headed table's header rows: the lines between its heavy top border and the rule under
    the header (rich draws a table without a header with light lines only)."""
    tables, header = [], None
    for line in lines:
        if line.startswith("┏"):
            header = []
        elif header is not None and line.startswith("┡"):
            tables.append(header)
            header = None
        elif header is not None:
            header.append(line)
    return tables


def test_every_header_and_caption_reads_whole_at_80_columns(tmp_path, random_model, sample_text, capsys,
                                                           monkeypatch):
    """At 80 columns (the width of a pipe) no header wraps or is cut, whatever the user features:
    the input table is stacked, the cosine table numbers its columns when the names do not fit."""
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "80")
    save_model(random_model(8), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text * 4)
    assert main(["report", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"), "--only", "factor_map",
                 "--only", "interventions", "--band", "1", "--nulls", "1", "--random-seeds", "1",
                 "--min-support", "2", "--feature", "after_slash=/", "--feature", "digits=[0-9]"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    headers = _tables(lines)
    assert len(headers) >= 5
    for header in headers:
        assert len(header) == 1, "\n".join(header)  # one line: no header wrapped onto a second
        assert "…" not in header[0], header[0]
    assert not [line for line in lines if "…" in line and " … " not in line], "a cell cut short"
    assert "Input columns against feature directions" in lines and "‖Wx‖ = ‖Wx[:, b]‖" in "\n".join(lines)
