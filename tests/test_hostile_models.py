"""The hostile table's models: paths, devices, damaged, huge and malicious files, odd file names
(issue 16). The machinery (a subprocess per case, the checks) is tests/hostile_runs.py;
tests/test_cli_bad_inputs.py checks the same refusals in-process, word for word.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.model import array_shapes, float_count
from tests.hostile_runs import CaseTable, Run, write_model, write_npz, write_text
from tests.naive import random_model_arrays

CASES = CaseTable()


class _Payload:
    """Unpickling this creates the file ``marker``: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _payload_never_ran(folder: Path) -> None:
    assert not (folder / "PWNED").exists(), "a pickle payload ran"


# -- the model ----------------------------------------------------------------------------------

@CASES.case("model_missing")
def _(d):
    return Run(["info", str(d / "nope.bin"), str(write_text(d))], fragments=("no such model file",))


@CASES.case("convert_of_a_text")
def _(d):
    return Run(["convert", str(write_text(d)), "-o", str(d / "x.bin")], fragments=("not a model file", "PyTorch"))


@CASES.case("model_is_a_directory")
def _(d):
    (d / "models").mkdir()
    return Run(["info", str(d / "models"), str(write_text(d))], fragments=("is a directory",))


@CASES.case("model_is_a_fifo")
def _(d):
    os.mkfifo(d / "model.bin")  # reading it would wait for ever for a writer
    return Run(["info", str(d / "model.bin"), str(write_text(d))], fragments=("not a regular file",), timeout=30)


@CASES.case("model_is_dev_zero")
def _(d):
    return Run(["info", "/dev/zero", str(write_text(d))], fragments=("not a regular file",), timeout=30)


@CASES.case("model_symlink_to_dev_zero")
def _(d):
    (d / "model.bin").symlink_to("/dev/zero")
    return Run(["info", str(d / "model.bin"), str(write_text(d))], fragments=("not a regular file",), timeout=30)


@CASES.case("model_dangling_symlink")
def _(d):
    (d / "model.bin").symlink_to(d / "gone.bin")
    return Run(["info", str(d / "model.bin"), str(write_text(d))], fragments=("no such model file",))


@CASES.case("model_empty")
def _(d):
    (d / "model.bin").write_bytes(b"")
    return Run(["info", str(d / "model.bin"), str(write_text(d))], fragments=("empty",))


@CASES.case("model_truncated")
def _(d):
    data = write_model(d).read_bytes()
    (d / "model.bin").write_bytes(data[:-3])
    return Run(["info", str(d / "model.bin"), str(write_text(d))], fragments=("not a whole number", "H=8"))


@CASES.case("model_sparse_beyond_the_cap")
def _(d):
    with open(d / "huge.bin", "wb") as fh:
        fh.truncate(4 * float_count(24_000))  # no disk used; a correct loader never reads it
    return Run(["info", str(d / "huge.bin"), str(write_text(d))], fragments=("larger than any model",), timeout=30)


@CASES.case("model_nan_weights")
def _(d):
    flat = np.frombuffer(write_model(d).read_bytes(), "<f4").copy()
    flat[8 * 256 + 3] = np.nan  # inside Wh
    flat.tofile(d / "model.bin")
    return Run(["info", str(d / "model.bin"), str(write_text(d))], fragments=("NaN or Inf", "Wh"))


@CASES.case("npz_not_a_zip")
def _(d):
    (d / "model.npz").write_bytes(b"PK not really a zip" * 10)
    return Run(["info", str(d / "model.npz"), str(write_text(d))], fragments=("not a .npz archive",))


@CASES.case("npz_truncated")
def _(d):
    data = write_npz(d).read_bytes()
    (d / "model.npz").write_bytes(data[: len(data) // 2])
    return Run(["info", str(d / "model.npz"), str(write_text(d))], fragments=("model.npz",))


@CASES.case("npz_int_dtype")
def _(d):
    return Run(["info", str(write_npz(d, Wx=np.zeros((8, 256), np.int32))), str(write_text(d))], fragments=("expected floats",))


@CASES.case("npz_complex_dtype")
def _(d):
    return Run(["info", str(write_npz(d, bh=np.zeros(8, np.complex64))), str(write_text(d))], fragments=("expected floats",))


@CASES.case("npz_three_dimensional_Wh")
def _(d):
    return Run(["info", str(write_npz(d, Wh=np.zeros((8, 8, 1), np.float32))), str(write_text(d))], fragments=("Wh", "shape"))


@CASES.case("npz_misshaped_Wx")
def _(d):
    return Run(["info", str(write_npz(d, Wx=np.zeros((8, 200), np.float32))), str(write_text(d))], fragments=("Wx", "(8, 256)"))


@CASES.case("npz_float64_beyond_float32")
def _(d):
    wx = random_model_arrays(8, 0, 1.0)["Wx"].astype(np.float64)
    wx[0, 0] = 1e39
    return Run(["info", str(write_npz(d, Wx=wx)), str(write_text(d))], fragments=("Wx", "beyond float32's range"))


@CASES.case("npz_pickled_object_array")
def _(d):
    arrays = {n: a for n, a in random_model_arrays(8, 0, 1.0).items()}
    arrays["Wx"] = np.array([_Payload(d / "PWNED")] * 2048, dtype=object).reshape(8, 256)
    np.savez(d / "model.npz", **arrays)
    return Run(["info", str(d / "model.npz"), str(write_text(d))], fragments=("Wx", "object"), check=_payload_never_ran)


@CASES.case("pt_pickle_payload")
def _(d):
    (d / "model.pt").write_bytes(pickle.dumps({"weight_ih_l0": _Payload(d / "PWNED")}))
    return Run(["info", str(d / "model.pt"), str(write_text(d))], fragments=("model.pt",), check=_payload_never_ran)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@CASES.case("npz_bomb")
def _(d):
    """A 70 KB archive whose Wx member unpacks to 64 MiB behind a header of shape (8, 256)."""
    with zipfile.ZipFile(d / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, shape in array_shapes(8).items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as fh:
                fh.write(_npy_bytes(np.zeros(shape, np.float32)))
                if name == "Wx":
                    for _ in range(64):
                        fh.write(bytes(1 << 20))
    return Run(["info", str(d / "bomb.npz"), str(write_text(d))], fragments=("Wx.npy unpacks to", "damaged or hostile"),
               timeout=30)


TOP = np.finfo(np.float32).max


def _float32_max_model(folder: Path) -> list[str]:
    """MODEL TEXT of a model whose every weight is float32's largest: its gradients overflow."""
    path = write_npz(folder, **{n: np.full(s, TOP, np.float32) for n, s in array_shapes(8).items()})
    return [str(path), str(write_text(folder))]


@CASES.case("model_of_float32_max")
def _(d):
    return Run(["report", *_float32_max_model(d), "--json"], status=1, fragments=("do not vary",), timeout=300)


@CASES.case("info_on_a_model_of_float32_max")
def _(d):
    return Run(["info", *_float32_max_model(d)], status=0, timeout=300)


@CASES.case("export_of_a_model_of_float32_max")
def _(d):
    return Run(["export", *_float32_max_model(d), "-o", str(d / "out.npz")], status=0, timeout=300)


@CASES.case("inspect_on_a_model_of_float32_max")
def _(d):
    """Its gradient energy overflows: one line, no RuntimeWarning from the inf and NaN gradients."""
    return Run(["inspect", *_float32_max_model(d), "--neuron", "0", "--nulls", "0"], status=1,
               fragments=("model.npz", "gradients", "overflow float32"), timeout=300)


@CASES.case("inspect_on_a_readout_of_float32_max")
def _(d):
    """Finite (zero) gradients, but the causal cost's readout edit overflows float32 when it is cast."""
    path = write_npz(d, Wy=np.full((256, 8), TOP, np.float32))
    return Run(["inspect", str(path), str(write_text(d)), "--neuron", "0"], status=1,
               fragments=("edited Wy", "too large for float32"), timeout=300)


@CASES.case("report_on_a_readout_of_float32_max")
def _(d):
    path = write_npz(d, Wy=np.full((256, 8), TOP, np.float32))
    return Run(["report", str(path), str(write_text(d))], status=1, fragments=("edited Wy", "too large for float32"),
               timeout=300)


@CASES.case("readout_rows_all_1e30")
def _(d):
    """Every byte equally likely: the BPC is 8 (issue 16, item 5; it was 0.0000)."""
    path = write_model(d, Wy=np.full((256, 8), 1e30, np.float32), by=np.zeros(256, np.float32))

    def bpc_is_eight(folder: Path) -> None:
        import json

        assert json.loads((folder / "info.json").read_text())["bpc"] == pytest.approx(8.0, abs=1e-4)

    return Run(["info", str(path), str(write_text(d)), "--json"], status=0, check=bpc_is_eight)


@pytest.mark.parametrize("name", CASES.builds)
def test_hostile_case(tmp_path, name):
    CASES.check(tmp_path, name)
