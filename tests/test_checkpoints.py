"""PyTorch checkpoints: torch.save zips and .safetensors read without torch, and refused in one line."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from factormap.engine.checkpoints import arrays_from_state_dict, read_checkpoint
from factormap.engine.checkpoints.torch_zip import _rebuild_tensor
from factormap.engine.config import NEVER_PREDICTED_LOGIT, PROB_FLOOR
from factormap.engine.errors import ModelError
from factormap.engine.forward import forward
from factormap.engine.model import Model, load_model, save_model
from factormap.engine.session import Session
from tests.torch_format import write_torch_zip

PYTORCH = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "pytorch"


@pytest.fixture
def pytorch_files() -> Path:
    """../shared/models/pytorch; skips where it is absent."""
    if not (PYTORCH / "expected.json").is_file():
        pytest.skip("../shared/models/pytorch is absent")
    return PYTORCH


def torch_rnn(H=5, inputs=256, seed=0, dtype=np.float32):
    """The parameters of nn.RNN(inputs, H) + nn.Linear(H, 256), by torch's names."""
    rng = np.random.default_rng(seed)
    return {"weight_ih_l0": rng.normal(size=(H, inputs)).astype(dtype),
            "weight_hh_l0": (0.5 * rng.normal(size=(H, H))).astype(dtype),
            "bias_ih_l0": rng.normal(size=H).astype(dtype), "bias_hh_l0": rng.normal(size=H).astype(dtype)}


def linear(H=5, out=256, seed=1):
    rng = np.random.default_rng(seed)
    return {"weight": rng.normal(size=(out, H)).astype(np.float32), "bias": rng.normal(size=out).astype(np.float32)}


def torch_bits(rnn, head, text: bytes, embedding=None):
    """bits of torch's formula, h_t = tanh(W_ih e(x_t) + b_ih + W_hh h_{t-1} + b_hh), in float64."""
    x = np.frombuffer(text, np.uint8)
    W = {k: v.astype(np.float64) for k, v in rnn.items()}
    h, bits = np.zeros(W["weight_hh_l0"].shape[0]), []
    for t in range(len(x) - 1):
        e = embedding[x[t]].astype(np.float64) if embedding is not None else np.eye(256)[x[t]]
        h = np.tanh(W["weight_ih_l0"] @ e + W["bias_ih_l0"] + W["weight_hh_l0"] @ h + W["bias_hh_l0"])
        logits = head["weight"].astype(np.float64) @ h + head["bias"]
        logp = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
        bits.append(-max(logp[x[t + 1]], np.log(PROB_FLOOR)) / np.log(2))
    return np.array(bits)


TEXT = b"the cat sat on the mat; the dog sat on the log.\n"


@pytest.mark.parametrize("layout", ["flat", "prefixed", "nested"])
def test_torch_zip_of_a_one_hot_rnn_runs_as_torch_does(tmp_path, layout):
    rnn, head = torch_rnn(), linear()
    state = {"flat": {**rnn, **{f"fc.{k}": v for k, v in head.items()}},
             "prefixed": {**{f"model.rnn.{k}": v for k, v in rnn.items()},
                          **{f"model.out.{k}": v for k, v in head.items()}},
             "nested": {"rnn": rnn, "lin": head}}[layout]
    write_torch_zip(tmp_path / "m.pt", state)
    model = load_model(tmp_path / "m.pt", np.float64)
    np.testing.assert_array_equal(model.Wh, rnn["weight_hh_l0"])
    np.testing.assert_array_equal(model.bh, rnn["bias_ih_l0"].astype(np.float64) + rnn["bias_hh_l0"])
    np.testing.assert_allclose(Session(model, TEXT).bits_range(0, len(TEXT) - 1), torch_bits(rnn, head, TEXT), rtol=1e-12)


def test_an_embedding_is_folded_into_wx(tmp_path):
    rnn = torch_rnn(inputs=3)
    embedding = np.random.default_rng(2).normal(size=(256, 3)).astype(np.float32)
    head = linear()
    write_torch_zip(tmp_path / "e.pth", {"embed.weight": embedding, **{f"rnn.{k}": v for k, v in rnn.items()},
                                         **{f"head.{k}": v for k, v in head.items()}})
    model = load_model(tmp_path / "e.pth", np.float64)
    np.testing.assert_allclose(Session(model, TEXT).bits_range(0, len(TEXT) - 1), torch_bits(rnn, head, TEXT, embedding), rtol=1e-12)


def test_safetensors_loads_like_the_torch_zip(tmp_path):
    from safetensors.numpy import save_file

    state = {**{f"rnn.{k}": v for k, v in torch_rnn().items()}, **{f"head.{k}": v for k, v in linear().items()}}
    save_file(state, tmp_path / "m.safetensors")
    write_torch_zip(tmp_path / "m.pt", state)
    a, b = load_model(tmp_path / "m.safetensors"), load_model(tmp_path / "m.pt")
    for name in ("Wx", "Wh", "bh", "Wy", "by"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_contents_decide_when_the_suffix_says_nothing(tmp_path):
    write_torch_zip(tmp_path / "weights.ckpt", {"rnn": torch_rnn(), "lin": linear()})
    assert load_model(tmp_path / "weights.ckpt").H == 5


def test_npz_with_torch_names_loads(tmp_path):
    np.savez(tmp_path / "m.npz", **{f"rnn.{k}": v for k, v in torch_rnn().items()},
             **{f"head.{k}": v for k, v in linear().items()})
    assert load_model(tmp_path / "m.npz").H == 5


def test_strided_tensor_is_rebuilt_in_its_logical_order():
    storage = np.arange(12, dtype=np.float32)
    np.testing.assert_array_equal(_rebuild_tensor(storage, 1, (3, 2), (1, 3)), [[1, 4], [2, 5], [3, 6]])
    with pytest.raises(ModelError, match="past the end"):
        _rebuild_tensor(storage, 4, (3, 3), (3, 1))
    with pytest.raises(ModelError, match="more elements than its storage"):
        _rebuild_tensor(storage, 0, (10**9, 10**9), (0, 0))


class _Tensorish:
    """Quacks like a torch tensor that requires grad: np.asarray on it would fail."""

    def __init__(self, array):
        self.array, self.detached = array, False

    def detach(self):
        out = _Tensorish(self.array)
        out.detached = True
        return out

    def cpu(self):
        return self

    def numpy(self):
        assert self.detached
        return self.array

    def __array__(self, *args, **kwargs):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def test_python_api_takes_tensors_and_array_likes():
    state = {**{f"rnn.{k}": _Tensorish(v) for k, v in torch_rnn().items()},
             **{f"head.{k}": v.tolist() for k, v in linear().items()}}
    model = Model.from_state_dict(state)
    assert model.H == 5 and model.dtype == np.float32
    native = Model(*(_Tensorish(getattr(model, n)) for n in ("Wx", "Wh", "bh", "Wy", "by")))
    np.testing.assert_array_equal(native.Wy, model.Wy)


def test_minus_infinity_in_by_is_a_byte_never_predicted():
    state = {"rnn": torch_rnn(), "lin": linear()}
    state["lin"]["bias"][ord("t")] = -np.inf
    for dtype in (np.float32, np.float64):
        model = Model.from_state_dict(state, dtype=dtype)
        assert model.by[ord("t")] == NEVER_PREDICTED_LOGIT
        bits = forward(model, b"xt" * 20).bits
        np.testing.assert_allclose(bits[::2], -np.log2(PROB_FLOOR), rtol=1e-6)
        assert np.all(np.isfinite(bits))


@pytest.mark.parametrize("edit, fragment", [
    (lambda s: s["rnn"].update(weight_hh_l0=np.zeros((20, 5), np.float32)), "LSTM"),
    (lambda s: s["rnn"].update(weight_hh_l0=np.zeros((15, 5), np.float32)), "GRU"),
    (lambda s: s["rnn"].update(weight_hh_l1=np.zeros((5, 5), np.float32)), "two layers"),
    (lambda s: s["rnn"].update(weight_hh_l0_reverse=np.zeros((5, 5), np.float32)), "bidirectional"),
    (lambda s: s.update(lin=linear(out=100)), "256 bytes"),
    (lambda s: s.update(lin2=linear(seed=3)), "readout"),
    (lambda s: s["rnn"].update(weight_ih_l0=np.zeros((5, 7), np.float32)), "one-hot bytes"),
    (lambda s: s.pop("rnn"), "weight_ih_l0"),
])
def test_unsupported_state_dicts_are_one_line(edit, fragment):
    state = {"rnn": torch_rnn(), "lin": linear()}
    edit(state)
    with pytest.raises(ModelError, match=fragment) as info:
        arrays_from_state_dict(state, "m.pt")
    assert "\n" not in str(info.value) and str(info.value).startswith("m.pt: ")


def test_a_pickle_that_would_write_a_file_never_writes_it(tmp_path):
    target = tmp_path / "written-by-the-pickle"

    class WritesAFile:
        def __reduce__(self):
            return (os.system, (f"touch {target}",))

    class OpensAFile:
        def __reduce__(self):
            return (open, (str(target), "w"))

    for payload in (WritesAFile(), OpensAFile(), {"weight": WritesAFile()}):
        for protocol in (2, 4):
            write_torch_zip(tmp_path / "evil.pt", pickle_bytes=pickle.dumps(payload, protocol=protocol))
            with pytest.raises(ModelError, match="nothing in the file was run") as info:
                load_model(tmp_path / "evil.pt")
            assert "\n" not in str(info.value)
            assert not target.exists()


def test_legacy_and_foreign_files_are_one_line(tmp_path):
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(ModelError, match="legacy"):
        load_model(tmp_path / "old.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file at all")
    with pytest.raises(ModelError, match="not a .safetensors file"):
        load_model(tmp_path / "junk.safetensors")
    write_torch_zip(tmp_path / "list.pt", [np.zeros(3, np.float32)])
    with pytest.raises(ModelError, match="not a state_dict"):
        load_model(tmp_path / "list.pt")


def test_storage_of_the_wrong_size_is_refused(tmp_path):
    tensors: dict[str, np.ndarray] = {}
    from tests.torch_format import torch_pickle

    data = torch_pickle({"rnn": torch_rnn(), "lin": linear()}, tensors)
    tensors["0"] = tensors["0"][:-1]
    write_torch_zip(tmp_path / "cut.pt", pickle_bytes=data, tensors=tensors)
    with pytest.raises(ModelError, match="storage 0 holds"):
        load_model(tmp_path / "cut.pt")


# -- the files PyTorch made ------------------------------------------------------------------

@pytest.mark.parametrize("name, file", [("char_rnn_h32", "char_rnn_h32.pt"),
                                        ("char_rnn_h32", "char_rnn_h32.safetensors"),
                                        ("char_rnn_embed16_h32", "char_rnn_embed16_h32.pt")])
def test_pytorch_files_reproduce_torchs_bpc(pytorch_files, name, file):
    expected = json.loads((pytorch_files / "expected.json").read_text())
    text = (pytorch_files / expected["eval_text"]).read_bytes()
    bpc64 = Session(load_model(pytorch_files / file, np.float64), text).bpc
    assert abs(bpc64 - expected[name]["bpc_float64"]) <= 1e-9
    bpc32 = Session(load_model(pytorch_files / file), text).bpc
    assert abs(bpc32 - expected[name]["bpc_float32"]) <= 1e-6 * expected[name]["bpc_float32"]


def test_pytorch_file_has_torchs_spectral_radius(pytorch_files):
    expected = json.loads((pytorch_files / "expected.json").read_text())["char_rnn_h32"]
    assert load_model(pytorch_files / "char_rnn_h32.pt").spectral_radius == pytest.approx(
        expected["spectral_radius"], rel=1e-6)


@pytest.mark.parametrize("file, fragment", [("char_lstm_h32.pt", "LSTM"),
                                            ("char_rnn_2layer_h32.pt", "two layers"),
                                            ("char_rnn_h32_whole_module.pt", "a pickled nn.Module, not a state_dict")])
def test_unsupported_pytorch_files_are_refused_in_one_line(pytorch_files, file, fragment):
    with pytest.raises(ModelError, match=fragment) as info:
        load_model(pytorch_files / file)
    assert "\n" not in str(info.value)


def test_converted_pytorch_file_is_bit_identical(pytorch_files, tmp_path):
    model = load_model(pytorch_files / "char_rnn_h32.pt")
    for out in ("m.bin", "m.npz"):
        save_model(model, tmp_path / out)
        back = load_model(tmp_path / out)
        for n in ("Wx", "Wh", "bh", "Wy", "by"):
            assert getattr(back, n).tobytes() == getattr(model, n).tobytes()


def test_read_checkpoint_names_the_file(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"")
    with pytest.raises(ModelError, match=r"x\.pt"):
        read_checkpoint(tmp_path / "x.pt")


def test_raw_dump_with_two_hidden_biases_gets_a_hint(tmp_path):
    from factormap.engine.model import float_count

    for H in (1, 32, 128):
        np.zeros(float_count(H) + H, "<f4").tofile(tmp_path / "dump.bin")
        with pytest.raises(ModelError, match=f"exactly H={H} with a second hidden bias") as info:
            load_model(tmp_path / "dump.bin")
        assert "\n" not in str(info.value)
    np.zeros(float_count(32) + 5, "<f4").tofile(tmp_path / "dump.bin")
    with pytest.raises(ModelError) as info:
        load_model(tmp_path / "dump.bin")
    assert "second hidden bias" not in str(info.value)


def test_float64_session_matches_the_naive_float64_reference(tmp_path):
    from tests import naive

    write_torch_zip(tmp_path / "m.pt", {"rnn": torch_rnn(H=7), "lin": linear(H=7)})
    model = load_model(tmp_path / "m.pt", np.float64)
    x = np.frombuffer(TEXT, np.uint8)
    states = naive.forward_states(model.Wx, model.Wh, model.bh, x)
    session = Session(model, TEXT)
    np.testing.assert_allclose(session.states(0, len(TEXT)), states, rtol=0, atol=1e-14)
    np.testing.assert_allclose(session.bits_range(0, len(TEXT) - 1), naive.bits(model.Wy, model.by, states, x),
                               rtol=1e-12)
