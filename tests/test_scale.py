"""A 20 MB text (one line, no newline) in a fresh process: bounded memory, exact far states.

The session runs in a child process so that its memory is its own. The child reports its
resident memory after imports and warm-up (``VmRSS``) and its peak at the end (``VmHWM``, the
high-water mark of its own address space). Not ``ru_maxrss``: Linux carries it across exec, so a
child spawned by a large pytest process reports the parent's peak (and the parent's
``RUSAGE_CHILDREN`` mixes in every other test's subprocesses).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.text import SESSION_BYTES_PER_TEXT_BYTE

TEXT_BYTES = 20_000_000 + 12_345  # not a whole number of chunks: the tail is exercised too
H = 16

#: What may come on top of the session's per-byte arrays: checkpoints (H floats per 1024 bytes),
#: two chunk buffers, the LRU of re-run segments, the readout's scratch, the child's own re-run.
FIXED_SLACK = 64 << 20

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from factormap.engine.forward import recur
    from factormap.engine.model import Model
    from factormap.engine.session import Session
    from factormap.engine.text import load_text
    from tests import naive

    path, H = sys.argv[1], int(sys.argv[2])
    model = Model(**naive.random_model_arrays(H, seed=7, scale=1.0))
    recur(model, b"warm up the kernels"); Session(model, b"warm up").bpc
    def status_bytes(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)
    baseline = status_bytes("VmRSS")  # now, not the peak: compilation may have peaked higher

    text = load_text(path)
    n = len(text)
    s = Session(model, text)
    far = (n - 700, n - 200)
    got_far = s.states(*far)           # never loaded before: the lazy pass reaches the end first
    for _ in s.run():
        pass
    mid = (n // 2 - 150, n // 2 + 150)  # re-run from a checkpoint after the pass, not from a cache
    got_mid = s.states(*mid)
    bits_far = s.bits_range(*far).copy()
    peak = status_bytes("VmHWM")
    worst = s.worst_positions(10)       # what `info` lists
    peak_with_worst = status_bytes("VmHWM")
    s.close()
    top = np.sort(s.bits)[-10:][::-1]

    # Independent re-run: the recurrence carried through the text in 64 KB pieces from h = 0.
    want = {far: None, mid: None}
    h = np.zeros(H, model.dtype)
    piece = 1 << 16
    for start in range(0, n, piece):
        states = recur(model, text[start:start + piece], h)
        for (t0, t1) in want:
            lo, hi = max(t0, start), min(t1, start + len(states))
            if lo < hi:
                part = states[lo - start:hi - start]
                want[(t0, t1)] = part if want[(t0, t1)] is None else np.concatenate([want[(t0, t1)], part])
        h = states[-1]
    xs = np.frombuffer(text, np.uint8)
    ref_bits = naive.bits(model.Wy, model.by, want[far], xs[far[0]:far[1]])  # positions far[0]..far[1]-2
    json.dump({
        "n": n, "baseline": baseline, "peak": peak, "peak_with_worst": peak_with_worst,
        "worst_are_the_largest": bool(np.array_equal(s.bits[worst], top)),
        "far_equal": bool(np.array_equal(got_far, want[far])),
        "mid_equal": bool(np.array_equal(got_mid, want[mid])),
        "far_bits_err": float(np.max(np.abs(bits_far[:-1] - ref_bits))),
        "far_bits_nan": int(np.isnan(bits_far).sum()),
    }, sys.stdout)
""")


@pytest.fixture(scope="module")
def twenty_mb_run(tmp_path_factory):
    """The child's report on a generated 20 MB text (run once for the tests below)."""
    rng = np.random.default_rng(0)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz  ,.", np.uint8)
    path = tmp_path_factory.mktemp("scale") / "one_line.txt"
    path.write_bytes(alphabet[rng.integers(0, alphabet.size, TEXT_BYTES)].tobytes())
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(H)], capture_output=True, text=True,
                          timeout=600, cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


BUDGET = SESSION_BYTES_PER_TEXT_BYTE * TEXT_BYTES + FIXED_SLACK
ON_LINUX = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the child's VmRSS and VmHWM")


@pytest.mark.scale
@ON_LINUX
def test_twenty_megabytes_in_bounded_memory_with_exact_far_states(twenty_mb_run):
    r = twenty_mb_run
    assert r["n"] == TEXT_BYTES
    assert r["far_equal"] and r["mid_equal"]
    assert r["far_bits_nan"] == 0 and r["far_bits_err"] < 1e-3
    grown = r["peak"] - r["baseline"]
    assert grown <= BUDGET, f"peak RSS grew by {grown / 2**20:.0f} MiB, budget {BUDGET / 2**20:.0f} MiB"
    # keeping every state would need n * H * 4 bytes: far above the budget, so the bound means something
    assert TEXT_BYTES * H * 4 > 2 * BUDGET


@pytest.mark.scale
@ON_LINUX
def test_worst_positions_are_right(twenty_mb_run):
    assert twenty_mb_run["worst_are_the_largest"]


@pytest.mark.scale
@ON_LINUX
def test_worst_positions_need_no_per_byte_memory(twenty_mb_run):
    r = twenty_mb_run
    grown = r["peak_with_worst"] - r["baseline"]
    assert grown <= BUDGET, f"peak RSS grew by {grown / 2**20:.0f} MiB, budget {BUDGET / 2**20:.0f} MiB"
