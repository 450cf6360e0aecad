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
