"""Packaging hygiene: every sub-package is listed, the engine never pulls in the UI."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

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


def test_import_linter_contract():
    # importlinter.cli has no __main__ guard (`python -m` would exit 0 without checking): use its script
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint) if lint.exists() else "lint-imports", "--config", str(ROOT / "pyproject.toml")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
