"""bench/run --isa avx2: the environment turns AVX-512 off for numba, and the floor's ISA probe reads it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import isa  # noqa: E402

from factormap.engine.source_fingerprint import source_fingerprint  # noqa: E402

ZEN4 = ["+64bit", "+avx", "+avx2", "+fma", "+avx512f", "+avx512bw", "-avx512fp16", "+avx10.1-512",
        "+amx-avx512", "-amx-tile", "+sse4.2"]


def test_avx2_env_turns_off_every_avx512_feature_and_keeps_the_rest():
    env = isa.isa_env("avx2", ZEN4)
    assert env["NUMBA_CPU_FEATURES"].split(",") == [
        "+64bit", "+avx", "+avx2", "+fma", "-avx512f", "-avx512bw", "-avx512fp16", "-avx10.1-512",
        "-amx-avx512", "-amx-tile", "+sse4.2"]
    assert env["NUMBA_CACHE_DIR"] == str(isa.cache_dir("avx2")) != str(isa.cache_dir("native"))
    assert isa.isa_env("native", ZEN4) == {"NUMBA_CACHE_DIR": str(isa.cache_dir("native"))}


def test_the_cache_folder_is_named_after_the_isa_and_the_engine_source(tmp_path):
    (tmp_path / "matvec.py").write_text("BLOCK = 64\n")
    assert isa.cache_dir("avx2", tmp_path).name == f"factormap-bench-numba-avx2-{source_fingerprint(tmp_path)}"
    assert isa.cache_dir("native").name == f"factormap-bench-numba-native-{source_fingerprint()}"


def test_avx2_is_refused_in_one_line_where_the_cpu_has_none():
    with pytest.raises(ValueError, match="no AVX2"):
        isa.isa_env("avx2", ["+64bit", "+sse4.2", "-avx2"])
    with pytest.raises(ValueError, match="must be one of native, avx2"):
        isa.isa_env("avx512", ZEN4)


@pytest.mark.skipif(sys.platform != "linux", reason="x86 Linux hosts")
def test_the_floor_reports_the_isa_numba_compiles_for_under_that_env(tmp_path):
    if "+avx2" not in isa.host_features():
        pytest.skip("this CPU has no AVX2")
    env = {**isa.isa_env("avx2"), "NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    code = f"import sys, json; sys.path.insert(0, {str(BENCH)!r}); import floor; print(json.dumps(floor._numba_isa()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    found, cpu = json.loads(out.strip().splitlines()[-1])
    assert found == "AVX2" and cpu.endswith("features from NUMBA_CPU_FEATURES")
