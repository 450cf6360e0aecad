"""An intervention on a 4 MB text in a fresh process: it keeps Δbits only (4 bytes per text byte).

Measured as in tests/test_scale.py: the child's ``VmRSS`` once its session is complete, then its
``VmHWM`` (peak) and ``VmRSS`` while holding what the app holds for an active row: the
:class:`EditedRun` and its result. What does not grow with the text is under 1 MiB (measured at
4 MB as at 20 MB), so 4 MB with an 8 MiB slack tells as much as 20 MB with 32 MiB did, in a fifth
of the time.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TEXT_BYTES = 4_000_000 + 4_321
H = 16

#: Bytes an active row may hold per text byte: its float32 Δbits (bits' are derived on demand).
ROW_BYTES_PER_TEXT_BYTE = 4
#: On top: chunk buffers, the readout's scratch, the states of the chunk being read out.
FIXED_SLACK = 8 << 20

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from factormap.engine.interventions.run import EditedRun, intervention_delta
    from factormap.engine.interventions.specs import AblateNeurons
    from factormap.engine.model import Model
    from factormap.engine.session import Session
    from tests import naive

    n, H = int(sys.argv[1]), int(sys.argv[2])
    model = Model(**naive.random_model_arrays(H, seed=7, scale=1.0))
    intervention_delta(Session(model, b"warm up the kernels"), [AblateNeurons((3,))])
    def status_bytes(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz  ,.", np.uint8)
    text = alphabet[np.random.default_rng(0).integers(0, alphabet.size, n)].tobytes()
    s = Session(model, text)
    for _ in s.run():
        pass
    baseline = status_bytes("VmRSS")
    run = EditedRun(s, [AblateNeurons((3,))])
    for _ in run.run():
        pass
    result = run.result()
    run.close()
    held = status_bytes("VmRSS")
    peak = status_bytes("VmHWM")
    far = slice(n - 3000, n - 1)
    json.dump({
        "baseline": baseline, "held": held, "peak": peak,
        "far_bits_match": bool(np.array_equal(result.bits[far], run.edited_bits(n - 3000, n - 1))),
        "far_delta_match": bool(np.array_equal(result.delta_bits[far], run.delta_bits(n - 3000, n - 1))),
        "delta_bpc_err": abs(result.delta_bpc - (np.mean(result.bits, dtype=np.float64) - s.bpc)),
    }, sys.stdout)
""")

ON_LINUX = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the child's VmRSS and VmHWM")
BUDGET = ROW_BYTES_PER_TEXT_BYTE * TEXT_BYTES + FIXED_SLACK


@pytest.mark.scale
@ON_LINUX
def test_an_intervention_on_megabytes_keeps_only_its_delta_bits():
    proc = subprocess.run([sys.executable, "-c", CHILD, str(TEXT_BYTES), str(H)], capture_output=True, text=True,
                          timeout=600, cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["far_bits_match"] and r["far_delta_match"] and r["delta_bpc_err"] < 1e-5
    for what in ("peak", "held"):
        grown = r[what] - r["baseline"]
        assert grown <= BUDGET, f"{what} RSS grew by {grown / TEXT_BYTES:.1f} bytes per text byte"
    # the old result (bits, Δbits and the run's own bits: 12 bytes per text byte) would not fit
    assert 12 * TEXT_BYTES > BUDGET + 4 * TEXT_BYTES
