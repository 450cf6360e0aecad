"""numba's CPU features for the engine: 512-bit vectors on AVX-512 hosts unless the user or an earlier compile chose."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from factormap.engine.kernels.vector_width import NO_256_BIT_PREFERENCE, full_width_features, uses_512_bit_vectors

BENCH = Path(__file__).resolve().parents[1] / "bench"
HOST = llvm.get_host_cpu_features().flatten()
HOST_HAS_AVX512 = "+avx512f" in HOST.split(",")


def test_only_avx512_features_are_widened():
    assert full_width_features("+avx2,+avx512f,+fma") == f"+avx2,+avx512f,+fma,{NO_256_BIT_PREFERENCE}"
    assert full_width_features("+avx2,-avx512f,+fma") is None
    assert full_width_features("+avx2,+avx512fp16") is None  # +avx512f itself must be on


def test_wide_means_avx512_with_the_preference_off():
    assert uses_512_bit_vectors(f"+avx512f,{NO_256_BIT_PREFERENCE}")
    assert not uses_512_bit_vectors("+avx512f")  # LLVM may still tune this core for ymm
    assert not uses_512_bit_vectors(f"-avx512f,{NO_256_BIT_PREFERENCE}")


PROBE = """
import json, sys
sys.path.insert(0, {bench!r})
{before}
import floor  # its ISA probe imports the engine's kernels first, as the engine does
from factormap.engine.kernels import vector_width
from factormap.engine.kernels.logit_tile import PANEL
isa, _ = floor._numba_isa()
print(json.dumps({{"wide": vector_width.WIDE_VECTORS, "panel": PANEL, "zmm": isa == "AVX-512",
                  "features": vector_width.COMPILED_FEATURES}}))
"""
EARLIER_COMPILE = "from numba import njit; njit(lambda: 1)()"


def probe(tmp_path, before: str = "", **env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME")}
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before, bench=str(BENCH))], capture_output=True, text=True,
                         env={**base, "NUMBA_CACHE_DIR": str(tmp_path), **env}, check=True, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not re.match(r"x86_64|AMD64", os.uname().machine), reason="x86-64 hosts")
def test_the_engine_compiles_zmm_code_exactly_where_the_host_has_avx512(tmp_path):
    found = probe(tmp_path)
    assert found["wide"] == found["zmm"] == HOST_HAS_AVX512
    assert found["panel"] == (64 if HOST_HAS_AVX512 else 16)
    assert (NO_256_BIT_PREFERENCE in found["features"].split(",")) == HOST_HAS_AVX512


@pytest.mark.skipif(not HOST_HAS_AVX512, reason="the choice is left alone only where there is one: AVX-512 hosts")
def test_features_the_user_set_or_an_earlier_compile_fixed_are_left_alone(tmp_path):
    chosen = probe(tmp_path, NUMBA_CPU_FEATURES=HOST)
    assert chosen["features"] == HOST and not chosen["wide"] and chosen["panel"] == 16
    earlier = probe(tmp_path, before=EARLIER_COMPILE)
    assert NO_256_BIT_PREFERENCE not in earlier["features"].split(",")
    assert not earlier["wide"] and earlier["panel"] == 16
