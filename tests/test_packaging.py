"""Packaging hygiene: every sub-package is listed, the engine never pulls in the UI."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    for top, ns in (("engine", "factormap.engine"), ("tui", "factormap.tui")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            dotted = ".".join((ns, *rel.parts)) if rel.parts else ns
            assert dotted in listed, f"{dotted} is missing from pyproject's packages"


def test_engine_imports_without_textual():
    code = "import sys, factormap.engine; assert 'textual' not in sys.modules and 'rich' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_code_imports_only_through_the_namespace():
    bare = re.compile(r"^\s*(from|import)\s+(engine|tui)\b", re.M)
    offenders = [str(p) for d in ("engine", "tui", "tests", "bench") if (ROOT / d).exists()
                 for p in (ROOT / d).rglob("*.py") if bare.search(p.read_text())]
    assert not offenders


def _lint_imports(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    # importlinter.cli has no __main__ guard (`python -m` would exit 0 without checking): use its script
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint) if lint.exists() else "lint-imports", str(cwd / "pyproject.toml")],
                          capture_output=True, text=True, cwd=cwd, env=env)


def test_import_linter_contracts_are_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, planted", [
    ("engine/kernels/readout.py", "import factormap.engine.session"),          # a kernel reaching up
    ("engine/factor_map/moments.py", "import factormap.engine.attribution"),   # two analyses' rooms
    ("engine/session.py", "import factormap.engine.interventions.run"),        # the base reaching up
    ("engine/model/weights.py", "import rich"),                                # the UI from the engine
])
def test_import_linter_fails_on_a_planted_crossing(tmp_path, module, planted):
    tree = tmp_path / "src" / "factormap"
    for top in ("engine", "tui"):
        shutil.copytree(ROOT / top, tree / top, ignore=shutil.ignore_patterns("__pycache__", "*.bin"))
    target = tree / module
    target.write_text(target.read_text() + f"\n{planted}\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    result = _lint_imports(tmp_path, env)
    assert result.returncode != 0, result.stdout
    assert "1 kept, 1 broken" in result.stdout
