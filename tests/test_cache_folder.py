"""numba's cache folder follows the engine's source, so no kernel outlives an edit of a function it inlines."""

import json
import os
import subprocess
import sys

from numba.core import config

from factormap.engine.kernels import cache_folder
from factormap.engine.source_fingerprint import source_fingerprint


def test_the_fingerprint_changes_with_any_file_of_the_source(tmp_path):
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "matvec.py").write_text("BLOCK = 64\n")
    (tmp_path / "recurrence.py").write_text("from matvec import BLOCK\n")
    before = source_fingerprint(tmp_path)
    assert source_fingerprint(tmp_path) == before and len(before) == 12
    (tmp_path / "kernels" / "matvec.py").write_text("BLOCK = 128\n")  # an inlined helper edited
    assert source_fingerprint(tmp_path) != before


def test_the_first_writable_folder_is_taken_unless_the_user_chose_one(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    chosen = tmp_path / "cache" / "numba-0123456789ab"
    monkeypatch.setattr(config, "CACHE_DIR", "")
    assert cache_folder.use_source_keyed_cache([blocked / "numba-x", chosen]) == str(chosen) == config.CACHE_DIR
    assert chosen.is_dir() and not any(chosen.iterdir())
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "users"))
    assert cache_folder.use_source_keyed_cache([chosen]) == str(tmp_path / "users") == config.CACHE_DIR
    monkeypatch.setattr(config, "CACHE_DIR", "")
    assert cache_folder.use_source_keyed_cache([blocked / "numba-x"]) is None and config.CACHE_DIR == ""


def test_the_engine_caches_in_the_folder_of_its_source_where_the_user_chose_none(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    code = ("import json; from numba.core import config; from factormap.engine.kernels import cache_folder; "
            "print(json.dumps([config.CACHE_DIR, cache_folder.CACHE_FOLDER]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    numba_dir, folder = json.loads(out.strip().splitlines()[-1])
    assert numba_dir == folder and folder.endswith(f"numba-{source_fingerprint()}")
    out = subprocess.run([sys.executable, "-c", code], env={**env, "NUMBA_CACHE_DIR": str(tmp_path)},
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [str(tmp_path)] * 2
