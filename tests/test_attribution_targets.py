"""The neuron-targeted view and the contrast target of an attribution, against the attribution's
own gradients and against finite differences."""

import numpy as np
import pytest

from factormap.engine.attribution import attribution
from factormap.engine.attribution.unit_flow import flow_map, unit_flow
from factormap.engine.model import Model
from factormap.engine.session import Session
from tests import naive


@pytest.fixture
def session(random_model, sample_text):
    s = Session(random_model(12, seed=5), sample_text)
    yield s
    s.close()


def test_unit_flow_is_the_attributions_column(session):
    att = attribution(session, 90, 20)
    flow = unit_flow(att, 7)
    np.testing.assert_array_equal(flow.grads, att.grads[:, 7])
    np.testing.assert_array_equal(flow.contributions, att.grads[:, 7] * att.states[:, 7])
    with pytest.raises(ValueError, match="units are 0..11"):
        unit_flow(att, 12)


def test_flow_map_ranks_units_by_energy(session):
    att = attribution(session, 90, 20)
    units, magnitudes = flow_map(att, 4)
    energy = (att.grads.astype(np.float64) ** 2).sum(axis=0)
    np.testing.assert_array_equal(units, np.argsort(-energy, kind="stable")[:4])
    np.testing.assert_array_equal(magnitudes, np.abs(att.grads[:, units]).T)


def test_contrast_is_the_difference_of_the_two_attributions(session):
    a, b = ord("e"), ord("a")
    contrast = attribution(session, 90, 20, target=a, contrast=b)
    difference = (attribution(session, 90, 20, target=a).grads.astype(np.float64)
                  - attribution(session, 90, 20, target=b).grads)
    np.testing.assert_allclose(contrast.grads, difference, rtol=1e-4, atol=1e-5)
    assert contrast.contrast == b and contrast.quantity == "ln p('e') − ln p('a')"
    assert attribution(session, 90, 20).quantity.startswith("ln p(")
    with pytest.raises(ValueError, match="other than the target"):
        attribution(session, 90, 5, target=a, contrast=a)


def test_contrast_gradient_against_finite_differences(sample_text):
    arrays = {k: v.astype(np.float64) for k, v in naive.random_model_arrays(6, seed=2).items()}
    session = Session(Model(**arrays), sample_text[:60])
    t, k, a, b = 40, 3, ord("t"), ord("x")
    att = attribution(session, t, 8, target=a, contrast=b)
    x = session.x
    h_before = session.states(t - k, t - k + 1)[0]

    def quantity(h):
        states = naive.forward_states(arrays["Wx"], arrays["Wh"], arrays["bh"], x[t - k + 1:t + 1], h)
        logp = naive.log_probs(arrays["Wy"], arrays["by"], states[-1:])[0]
        return logp[a] - logp[b]

    eps = 1e-6
    numeric = np.array([(quantity(h_before + eps * e) - quantity(h_before - eps * e)) / (2 * eps)
                        for e in np.eye(6)])
    np.testing.assert_allclose(att.grads[k], numeric, rtol=1e-6, atol=1e-9)
    assert att.value == pytest.approx(quantity(h_before), rel=1e-10)  # the quantity the gradients are of


def test_value_is_the_attributed_log_probability(sample_text):
    arrays = {k: v.astype(np.float64) for k, v in naive.random_model_arrays(6, seed=2).items()}
    session = Session(Model(**arrays), sample_text[:60])
    states = naive.forward_states(arrays["Wx"], arrays["Wh"], arrays["bh"], session.x)
    logp = naive.log_probs(arrays["Wy"], arrays["by"], states[40:41])[0]
    plain = attribution(session, 40, 4, target=ord("t"))
    assert plain.contrast_prob is None and plain.value == pytest.approx(logp[ord("t")], rel=1e-10)
    contrast = attribution(session, 40, 4, target=ord("t"), contrast=ord("x"))
    assert contrast.contrast_prob == pytest.approx(np.exp(logp[ord("x")]), rel=1e-10)
    assert contrast.value == pytest.approx(logp[ord("t")] - logp[ord("x")], rel=1e-10)


def test_export_target_attributes_the_chosen_byte(tmp_path, random_model, sample_text, capsys):
    import json

    from factormap.engine.model import load_model, save_model
    from factormap.tui.cli import main

    save_model(random_model(8, seed=2), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    args = ["export", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"), "--start", "20", "--stop", "40", "--K", "6"]
    out = tmp_path / "out.npz"
    assert main([*args, "--target", "e", "-o", str(out)]) == 0
    data = np.load(out)
    session = Session(load_model(tmp_path / "m.bin"), sample_text)
    assert set(data["target"].tolist()) == {ord("e")}
    for t in (20, 33, 39):
        att = attribution(session, t, 6, target=ord("e"))
        np.testing.assert_allclose(data["grad_norms"][t - 20, :att.K + 1], att.grad_norms, rtol=1e-4)
        np.testing.assert_allclose(data["input_attr"][t - 20, :att.K + 1], att.input_attr, rtol=1e-4, atol=1e-7)
    capsys.readouterr()
    assert main([*args, "--target", "0x65", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(printed["grad_norms"], data["grad_norms"], rtol=1e-6)


@pytest.mark.parametrize("bad", ["256", "ab", "-1"])
def test_export_target_must_be_a_byte(tmp_path, random_model, sample_text, capsys, bad):
    from factormap.engine.model import save_model
    from factormap.tui.cli import main

    save_model(random_model(8, seed=2), tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(sample_text)
    assert main(["export", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"), "--json", "--target", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected a byte" in err
