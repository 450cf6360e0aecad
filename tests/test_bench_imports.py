"""bench/ runs without the test extras: every module a bench script imports, at the top or inside a
function, imports with pytest unavailable."""

import ast
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            modules.add(node.module)
    return modules


def test_everything_bench_imports_imports_without_pytest():
    scripts = sorted(BENCH.glob("*.py")) + [BENCH / "run"]
    modules = sorted(set().union(*map(_imported_modules, scripts)))
    assert "tests.pilot_support" in modules and "floor" in modules
    code = ("import sys, importlib; sys.modules['pytest'] = None; sys.path.insert(0, sys.argv[1]); "
            "[importlib.import_module(name) for name in sys.argv[2:]]")
    done = subprocess.run([sys.executable, "-c", code, str(BENCH), *modules], capture_output=True, text=True,
                          cwd=BENCH.parent)
    assert done.returncode == 0, done.stderr
