"""The inspector on a 4 MB text in a fresh process: bounded memory, as tests/test_scale_features.py
measures it (the child's ``VmRSS`` before its session, then its ``VmHWM``).

The inspection (two passes), the gradient rank and the causal cost with its null may add only the
fixed slack to the session's own bytes per text byte: the probe's whole column in float64 (8 bytes
per text byte), or one run's Δbits (4), would not fit in it. The slack is what does not grow with
the text (about 5 MiB measured, at 4 MB as at 20 MB), so a 4 MB text tells as much as 20 MB did,
in a fifth of the time.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.text import SESSION_BYTES_PER_TEXT_BYTE
from tests.test_scale_features import H, ON_LINUX

TEXT_BYTES = 4_000_000 + 6_789
#: On top of the session's bytes: checkpoints, chunk buffers, the LRU of re-run segments, the
#: inspection's histogram and top lists, the null's one direction.
FIXED_SLACK = 12 << 20
BUDGET = SESSION_BYTES_PER_TEXT_BYTE * TEXT_BYTES + FIXED_SLACK

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from factormap.engine.model import Model
    from factormap.engine.session import Session
    from factormap.engine.text import load_text
    from factormap.engine.interventions.directions import random_unit_direction
    from factormap.engine.workbench.causal import causal_cost
    from factormap.engine.workbench.gradient_rank import gradient_rank
    from factormap.engine.workbench.inspect import inspect_probe
    from factormap.engine.workbench.probe import Probe
    from tests import naive

    path, H = sys.argv[1], int(sys.argv[2])
    model = Model(**naive.random_model_arrays(H, seed=7, scale=1.0))
    probe = Probe.of_direction(random_unit_direction(5, H), "u_r")

    def figures(s):
        return (inspect_probe(s, probe, top=50), gradient_rank(s, probe, samples=16, K=8),
                causal_cost(s, probe, null_n=1, cache=None))

    warm = Session(model, b"<a>warm up</a> the <b/>kernels " * 200)
    figures(warm)

    def status_bytes(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)
    baseline = status_bytes("VmRSS")
    s = Session(model, load_text(path))
    for _ in s.run():
        pass
    ins, rank, cost = figures(s)
    peak = status_bytes("VmHWM")
    far = probe.values(s.states(s.n - 4096, s.n))
    json.dump({"n": s.n, "baseline": baseline, "peak": peak, "counted": int(ins.histogram_counts.sum()),
               "top_ok": bool(ins.top_values[0] >= far.max() and ins.bottom_values[0] <= far.min()),
               "finite": bool(np.isfinite(cost.each_step.delta_bpc) and np.isfinite(rank.energy))}, sys.stdout)
""")


@pytest.mark.scale
@ON_LINUX
def test_inspect_stays_within_the_sessions_bytes(tmp_path):
    rng = np.random.default_rng(3)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ,.<<>>/!\n\t", np.uint8)
    path = tmp_path / "tagged.txt"
    with open(path, "wb") as fh:
        for start in range(0, TEXT_BYTES, 1 << 22):
            fh.write(alphabet[rng.integers(0, alphabet.size, min(1 << 22, TEXT_BYTES - start))].tobytes())
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(H)], capture_output=True, text=True,
                          timeout=1800, cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["n"] == TEXT_BYTES and r["counted"] == TEXT_BYTES and r["top_ok"] and r["finite"]
    grown = r["peak"] - r["baseline"]
    assert grown <= BUDGET, f"peak RSS grew by {grown / 2**20:.0f} MiB, budget {BUDGET / 2**20:.0f} MiB"
    # the bound means something: one whole-text float32 array would not fit in the slack
    assert 4 * TEXT_BYTES > FIXED_SLACK
