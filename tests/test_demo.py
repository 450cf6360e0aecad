"""The shipped demo: its files, the BPC the README states, and the README's command remaking it."""

import re
import shlex
from pathlib import Path

import pytest

from factormap.engine.forward import forward
from factormap.engine.model import load_model
from factormap.tui.cli import main
from factormap.tui.demo import demo_paths

ROOT = Path(__file__).resolve().parents[1]


def _readme_demo_section() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Demo model\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README has no '## Demo model' section"
    return match.group(1)


def test_demo_files_are_installed_and_shaped_like_enwik():
    model_path, text_path = demo_paths()
    text = text_path.read_bytes()
    assert 2048 <= len(text) <= 4096
    for tag in (b"<page>", b"<title>", b"<revision>", b'<text xml:space="preserve">', b"[[", b"{{"):
        assert tag in text
    assert load_model(model_path).H == 128


def test_demo_model_gives_the_bpc_the_readme_states():
    stated = float(re.search(r"BPC on the demo text is \*\*([0-9.]+)\*\*", _readme_demo_section()).group(1))
    model_path, text_path = demo_paths()
    bpc = forward(load_model(model_path), text_path.read_bytes()).bpc
    assert bpc == pytest.approx(stated, abs=0.001)
    assert bpc <= 0.3


def test_readme_command_remakes_the_demo_model_byte_for_byte(tmp_path, monkeypatch, capsys):
    command = re.search(r"```sh\n(factormap-tui train [^\n]*)\n```", _readme_demo_section()).group(1)
    argv = shlex.split(command)[1:]
    out = argv.index("-o") + 1
    assert argv[out] == "tui/demo/demo_model.bin" and argv[1] == "tui/demo/demo.xml"
    argv[out] = str(tmp_path / "remade.bin")
    monkeypatch.chdir(ROOT)
    assert main(argv + ["--json"]) == 0
    # numba compiles for the host CPU: another vector width would round sums differently
    assert (tmp_path / "remade.bin").read_bytes() == demo_paths()[0].read_bytes(), (
        "the README's command no longer remakes the shipped demo model; if the training arithmetic "
        "changed on purpose (training kernels, tanh_f32, exp_f32), run it again and update the README's BPC")
