"""The command line explains itself: --version, and an unknown command is named as one."""

from importlib.metadata import version

import pytest

from factormap.tui.cli import main
from factormap.tui.commands import COMMANDS


def test_version_prints_the_installed_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"factormap-tui {version('factormap-tui')}\n"


@pytest.mark.parametrize("word", ["bogus", "reprot", "info-all"])
def test_an_unknown_command_is_named(capsys, word):
    assert main([word]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"factormap-tui: error: unknown command '{word}' (commands: ") and err.count("\n") == 1
    assert all(name in err for name in COMMANDS)


def test_a_file_named_like_a_word_is_still_a_model(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").write_bytes(b"\x00" * 12)
    assert main(["model"]) == 2
    assert "give both MODEL and TEXT" in capsys.readouterr().err
