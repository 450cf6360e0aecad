"""Figures built on the text's features on a 12 MB text in a fresh process: bounded memory.

Measured as in tests/test_scale.py (the child's ``VmRSS`` before its session, then its ``VmHWM``):
the factor map of the four standard features and the BPC breakdown may add only a fixed amount to
the session's own bytes per text byte, and so may the write-in oracle's fit and a residual readout
(whose edited run keeps no per-position Δbits). A single whole-text float64 feature (8 bytes per
text byte), or a run's float32 Δbits (4), would not fit in the slack, so the bound means the features
are streamed and the run keeps only its sums.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.text import SESSION_BYTES_PER_TEXT_BYTE

#: Long enough that a whole-text float32 array (4 bytes per text byte) would not fit in the slack,
#: no longer: the child's passes over it were a minute of the cold suite at 20 MB.
TEXT_BYTES = 12_000_000 + 6_789
H = 16
#: On top of the per-byte arrays: checkpoints, chunk buffers, the LRU of re-run segments, the
#: moments, a few chunks of features per lane, the recorded feature carries, the blocks that rank
#: the worst bits. Measured: 30.5 MiB at 20 MB and 30.8 MiB at 5 MB (it does not grow with the text).
FIXED_SLACK = 44 << 20

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from factormap.engine.factor_map.bpc_breakdown import bpc_breakdown
    from factormap.engine.factor_map.compute import compute_factor_map
    from factormap.engine.factor_map.stream import FeatureStream
    from factormap.engine.factor_map.features import standard_features
    from factormap.engine.interventions.analysis import residual_readout
    from factormap.engine.interventions.oracle import fit_write_in_oracle
    from factormap.engine.interventions.run import intervention_delta
    from factormap.engine.model import Model
    from factormap.engine.session import Session
    from factormap.engine.text import load_text
    from tests import naive

    path, H = sys.argv[1], int(sys.argv[2])
    model = Model(**naive.random_model_arrays(H, seed=7, scale=1.0))

    def figures(s):
        fm = compute_factor_map(s)
        breakdown = bpc_breakdown(s)
        u = fm.readouts["word_len"].cov_direction
        oracle = fit_write_in_oracle(s, u, "word_len", "linear")
        return fm, breakdown, oracle, u

    warm = Session(model, b"<a>warm up</a> the <b/>kernels " * 200)
    _, _, oracle, u = figures(warm)
    intervention_delta(warm, [oracle]); residual_readout(warm, [oracle], "word_len")
    def status_bytes(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)
    baseline = status_bytes("VmRSS")

    s = Session(model, load_text(path))
    n = s.n
    for _ in s.run():
        pass
    fm = compute_factor_map(s)
    breakdown = bpc_breakdown(s)
    peak_figures = status_bytes("VmHWM")
    u = fm.readouts["word_len"].cov_direction
    oracle = fit_write_in_oracle(s, u, "word_len", "linear")
    residual = residual_readout(s, [oracle], "word_len", "word_len")
    peak_oracle = status_bytes("VmHWM")

    # Checks against whole-text arrays, once the peaks are read.
    whole = standard_features(s.x)
    far = FeatureStream(s.x, step=s.chunk).range(n - 5000, n)
    wl = whole["word_len"]
    ro = fm.readouts["word_len"]
    counts = np.bincount(wl.astype(np.int64))
    values = np.asarray(oracle.values[n - 5000:n])
    json.dump({
        "n": n, "baseline": baseline, "peak_figures": peak_figures, "peak_oracle": peak_oracle,
        "far_features_equal": all(np.array_equal(far[k], whole[k][n - 5000:]) for k in whole),
        "tags_vary": bool(np.ptp(whole["tag_depth"]) > 0 and whole["in_tag"].any()),
        "cond_counts_equal": bool(np.array_equal(ro.cond_counts, counts[ro.cond_values.astype(np.int64)])),
        "class_counts_sum": int(breakdown.by_class.count.sum()),
        "oracle_far_linear": bool(np.allclose(values, oracle.values.map.slope * wl[n - 5000:]
                                              + oracle.values.map.intercept, rtol=0, atol=1e-12)),
        "residual_finite": bool(np.isfinite(residual.r) and np.isfinite(residual.result.delta_bpc)),
    }, sys.stdout)
""")

ON_LINUX = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the child's VmRSS and VmHWM")
BUDGET = SESSION_BYTES_PER_TEXT_BYTE * TEXT_BYTES + FIXED_SLACK


@pytest.fixture(scope="module")
def features_run(tmp_path_factory):
    """The child's report on a generated 12 MB text of words and tags (run once for the tests below)."""
    rng = np.random.default_rng(3)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ,.<<>>/!\n\t", np.uint8)
    path = tmp_path_factory.mktemp("scale") / "tagged.txt"
    with open(path, "wb") as fh:
        for start in range(0, TEXT_BYTES, 1 << 22):
            fh.write(alphabet[rng.integers(0, alphabet.size, min(1 << 22, TEXT_BYTES - start))].tobytes())
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(H)], capture_output=True, text=True,
                          timeout=900, cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.scale
@ON_LINUX
def test_factor_map_and_bpc_breakdown_stream_their_features(features_run):
    r = features_run
    assert r["n"] == TEXT_BYTES and r["tags_vary"]
    assert r["far_features_equal"] and r["cond_counts_equal"] and r["class_counts_sum"] == TEXT_BYTES - 1
    grown = r["peak_figures"] - r["baseline"]
    assert grown <= BUDGET, f"peak RSS grew by {grown / 2**20:.0f} MiB, budget {BUDGET / 2**20:.0f} MiB"
    # one whole-text float64 feature would not fit in the slack: the bound means something
    assert 8 * TEXT_BYTES > FIXED_SLACK


@pytest.mark.scale
@ON_LINUX
def test_oracle_fit_and_residual_readout_hold_no_per_position_values(features_run):
    r = features_run
    assert r["oracle_far_linear"] and r["residual_finite"]
    grown = r["peak_oracle"] - r["baseline"]
    assert grown <= BUDGET, f"peak RSS grew by {grown / 2**20:.0f} MiB, budget {BUDGET / 2**20:.0f} MiB"
    assert 4 * TEXT_BYTES > FIXED_SLACK  # a run's Δbits would not fit in the slack
