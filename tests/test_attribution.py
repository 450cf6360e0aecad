"""Exact per-prediction attribution: finite differences, a plain numpy BPTT, the text summary."""

import numpy as np
import pytest

from factormap.engine.attribution import summary as summary_module
from factormap.engine.attribution.prediction import attribution
from factormap.engine.attribution.profiles import offset_profiles
from factormap.engine.attribution.summary import attribution_summary
from factormap.engine.config import PROB_FLOOR
from factormap.engine.errors import Cancelled, ModelError
from factormap.engine.session import Session
from tests import naive


def bptt_reference(model, x, t, K, target):
    """g_k = d ln p_t[target] / d h_{t-k} by the textbook recursion, float64, one step at a time."""
    Wx, Wh, Wy = (np.asarray(a, np.float64) for a in (model.Wx, model.Wh, model.Wy))
    states = naive.forward_states(model.Wx, model.Wh, model.bh, x[:t + 1])
    p = np.exp(naive.log_probs(model.Wy, model.by, states[t:t + 1])[0])
    g = Wy.T @ (np.eye(256)[target] - p)
    grads = []
    for k in range(min(K, t) + 1):
        grads.append(g)
        h = states[t - k]
        g = Wh.T @ ((1 - h * h) * g)
    grads = np.array(grads)
    hs = states[t - np.arange(len(grads))]
    cols = Wx[:, x[t - np.arange(len(grads))]].T
    return dict(grads=grads, p=p, states=hs,
                input_attr=np.sum(grads * cols, axis=1),
                input_attr_exact=np.sum((1 - hs * hs) * grads * cols, axis=1))


def log_prob_from(model, x, t, k, h, target):
    """ln p_t[target] when h_{t-k} is replaced by ``h`` and the recurrence re-run up to t."""
    states = naive.forward_states(model.Wx, model.Wh, model.bh, x[t - k + 1:t + 1], h0=h)
    h_t = states[-1] if k else h
    return naive.log_probs(model.Wy, model.by, h_t[None])[0, target]


@pytest.fixture
def model64(random_model):
    return random_model(12, seed=3).astype(np.float64)


@pytest.mark.parametrize("t,K", [(40, 12), (7, 64)])
def test_every_gradient_matches_central_finite_differences(model64, sample_text, t, K):
    x = np.frombuffer(sample_text, np.uint8)
    session = Session(model64, sample_text)
    att = attribution(session, t, K)
    assert att.K == min(K, t) and att.grads.dtype == np.float64
    states = naive.forward_states(model64.Wx, model64.Wh, model64.bh, x[:t + 1])
    eps = 1e-6
    for k in range(att.K + 1):
        fd = np.empty(model64.H)
        for j in range(model64.H):
            up, down = states[t - k].copy(), states[t - k].copy()
            up[j] += eps
            down[j] -= eps
            fd[j] = (log_prob_from(model64, x, t, k, up, att.target)
                     - log_prob_from(model64, x, t, k, down, att.target)) / (2 * eps)
        rel = np.linalg.norm(att.grads[k] - fd) / np.linalg.norm(fd)
        assert rel <= 1e-4, (k, rel)


@pytest.mark.parametrize("H", [16, 80])  # 80: the float32 products' 64-column register tiles and the rest
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 2e-3)])
def test_matches_numpy_bptt_reference(random_model, sample_text, dtype, rtol, H):
    model = random_model(H, seed=5).astype(dtype)
    x = np.frombuffer(sample_text, np.uint8)
    t, K = 150, 30
    ref = bptt_reference(model, x, t, K, int(x[t + 1]))
    att = attribution(Session(model, sample_text), t, K)
    assert att.grads.dtype == dtype and att.grads.shape == (K + 1, H)
    scale = np.abs(ref["grads"]).max(axis=1, keepdims=True)
    np.testing.assert_allclose(att.grads / scale, ref["grads"] / scale, atol=rtol)
    norms = np.linalg.norm(ref["grads"], axis=1)
    np.testing.assert_allclose(att.grad_norms, norms, rtol=rtol)
    np.testing.assert_allclose(att.growth, norms / norms[0], rtol=rtol)
    np.testing.assert_allclose(att.input_attr / norms, ref["input_attr"] / norms, atol=rtol)
    np.testing.assert_allclose(att.input_attr_exact / norms, ref["input_attr_exact"] / norms, atol=rtol)
    np.testing.assert_allclose(att.neuron_attr / scale, ref["grads"] * ref["states"] / scale, atol=rtol)
    np.testing.assert_allclose(att.energy / scale ** 2, ref["grads"] ** 2 / scale ** 2, atol=rtol)
    np.testing.assert_array_equal(att.inputs, x[t - np.arange(K + 1)])
    assert att.prob == pytest.approx(ref["p"][x[t + 1]], rel=rtol)
    assert att.bits == pytest.approx(-np.log2(max(ref["p"][x[t + 1]], PROB_FLOOR)), rel=rtol)
    np.testing.assert_array_equal(att.top_bytes, np.argsort(-ref["p"], kind="stable")[:5])
    np.testing.assert_allclose(att.top_probs, np.sort(ref["p"])[::-1][:5], rtol=rtol)


def test_energy_share_and_top_neurons(model64, sample_text):
    att = attribution(Session(model64, sample_text), 60, 10)
    for k in (0, 4):
        e = att.grads[k] ** 2
        assert att.top_share(3, k) == pytest.approx(np.sort(e)[-3:].sum() / e.sum(), rel=1e-12)
        assert list(att.top_neurons(4, k)) == list(np.argsort(-e)[:4])
    assert att.top_share(model64.H) == pytest.approx(1.0)
    assert list(att.top_neurons(5)) == list(np.argsort(-(att.grads ** 2).sum(axis=0))[:5])


def test_K_past_the_start_of_the_text_truncates(model64, sample_text):
    session = Session(model64, sample_text)
    x = np.frombuffer(sample_text, np.uint8)
    for t in (0, 1, 9):
        att = attribution(session, t, K=64)
        assert att.K == t and att.grads.shape == (t + 1, model64.H) and att.inputs.shape == (t + 1,)
        np.testing.assert_allclose(att.grads, bptt_reference(model64, x, t, t, int(x[t + 1]))["grads"],
                                   rtol=1e-10, atol=1e-14)
    assert attribution(session, 30, K=0).grads.shape == (1, model64.H)


def test_a_chosen_target_changes_g0_exactly_as_the_formula(model64, sample_text):
    session = Session(model64, sample_text)
    x = np.frombuffer(sample_text, np.uint8)
    t = 25
    h_t = naive.forward_states(model64.Wx, model64.Wh, model64.bh, x[:t + 1])[t]
    p = np.exp(naive.log_probs(model64.Wy, model64.by, h_t[None])[0])
    for target in (0, 65, int(x[t + 1]), 255):
        att = attribution(session, t, K=5, target=target)
        assert att.target == target
        np.testing.assert_allclose(att.grads[0], model64.Wy.T @ (np.eye(256)[target] - p), rtol=1e-12, atol=1e-14)
        assert att.prob == pytest.approx(p[target], rel=1e-12)
    a, b = attribution(session, t, 3, target=10), attribution(session, t, 3, target=200)
    np.testing.assert_allclose(a.grads[0] - b.grads[0], model64.Wy[10] - model64.Wy[200], atol=1e-12)


def test_last_position_needs_a_target(model64, sample_text):
    session = Session(model64, sample_text)
    last = session.n - 1
    with pytest.raises(ValueError, match="no next byte"):
        attribution(session, last)
    assert attribution(session, last, K=4, target=ord("a")).K == 4
    for bad in (dict(t=-1), dict(t=session.n), dict(t=3, target=256), dict(t=3, K=-1)):
        with pytest.raises(ValueError):
            attribution(session, **bad)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # g_0^2 and the growth overflow here
def test_logits_past_float32_give_finite_probabilities_and_g0(random_model, sample_text):
    """Wy near float32's limit: Wy @ h overflows to inf, yet p and g_0 are finite (computed wide)."""
    rng = np.random.default_rng(7)
    big = np.float32(np.finfo(np.float32).max / 4)
    model = random_model(8).replace(Wy=np.where(rng.random((256, 8)) < 0.5, -big, big).astype(np.float32))
    session = Session(model, sample_text)
    x = np.frombuffer(sample_text, np.uint8)
    h = naive.forward_states(model.Wx, model.Wh, model.bh, x[:31])[30]
    assert not np.all(np.isfinite((model.Wy.astype(np.float32) @ h.astype(np.float32))))
    p = np.exp(naive.log_probs(model.Wy, model.by, h[None])[0])
    for target in (int(np.argmax(p)), 7):
        att = attribution(session, 30, K=0, target=target)
        assert np.isfinite(att.prob) and np.all(np.isfinite(att.grads[0]))
        assert att.prob == pytest.approx(p[target], abs=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # logits far below the largest cast to -inf in float32
def test_block_readout_gradients_past_float32_are_refused(random_model, sample_text):
    """Wy near float32's largest (+-max/1.5): some g_0 = Wy^T (onehot - p) is beyond float32, and the
    block profiles say so (ModelError, one line) instead of backpropagating infinities."""
    rng = np.random.default_rng(7)
    big = np.float32(np.finfo(np.float32).max / 1.5)
    model = random_model(8).replace(Wy=np.where(rng.random((256, 8)) < 0.5, -big, big).astype(np.float32))
    with pytest.raises(ModelError, match="overflow float32"):
        offset_profiles(Session(model, sample_text), 0, 40, 3)


def naive_summary(model, x, K):
    """Every prediction backpropagated with bptt_reference; offsets averaged over t >= k."""
    n = len(x)
    norms = np.full((K + 1, n - 1), np.nan)
    attr = np.full((2, K + 1, n - 1), np.nan)
    energy = np.zeros((K + 1, model.H))
    shares = []
    for t in range(n - 1):
        ref = bptt_reference(model, x, t, K, int(x[t + 1]))
        g = ref["grads"]
        kk = len(g)
        norms[:kk, t] = np.linalg.norm(g, axis=1)
        attr[0, :kk, t], attr[1, :kk, t] = ref["input_attr"], ref["input_attr_exact"]
        energy[:kk] += g ** 2
        e = np.sort(g[0] ** 2)
        shares.append(e[-10:].sum() / e.sum())
    mean = np.nanmean(norms, axis=1)
    return dict(norms=norms, mean=mean, median=np.nanmedian(norms, axis=1),
                abs_attr=np.nanmean(np.abs(attr), axis=2), energy=energy, share=np.mean(shares))


def test_summary_matches_a_naive_loop_across_chunks(model64, sample_text, monkeypatch):
    monkeypatch.setattr(summary_module, "BLOCK", 37)
    x = np.frombuffer(sample_text, np.uint8)
    K = 9
    fractions = []
    got = attribution_summary(Session(model64, sample_text), K, progress=fractions.append)
    ref = naive_summary(model64, x, K)
    assert got.K == K and list(got.count) == [len(x) - 1 - k for k in range(K + 1)]
    np.testing.assert_allclose(got.grad_norms, ref["norms"], rtol=1e-10)
    np.testing.assert_allclose(got.mean_norm, ref["mean"], rtol=1e-10)
    np.testing.assert_allclose(got.median_norm, ref["median"], rtol=1e-10)
    np.testing.assert_allclose(got.growth_mean, ref["mean"] / ref["mean"][0], rtol=1e-10)
    np.testing.assert_allclose(got.growth_median, ref["median"] / ref["median"][0], rtol=1e-10)
    np.testing.assert_allclose(got.mean_abs_input_attr, ref["abs_attr"][0], rtol=1e-10)
    np.testing.assert_allclose(got.mean_abs_input_attr_exact, ref["abs_attr"][1], rtol=1e-10)
    np.testing.assert_allclose(got.energy, ref["energy"], rtol=1e-10)
    assert got.top_share_k0 == pytest.approx(ref["share"], rel=1e-10)
    assert list(got.neurons_by_energy) == list(np.argsort(-ref["energy"].sum(axis=0), kind="stable"))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 3
    data = got.to_dict(neurons=3)
    assert data["growth"]["mean_ratio"][0] == 1.0 and len(data["neurons"]["by_energy"]) == 3


def test_offset_profiles_of_a_block_match_single_attributions(model64, sample_text):
    session = Session(model64, sample_text)
    block = offset_profiles(session, 3, 20, K=6)
    for t in range(3, 20):
        att = attribution(session, t, 6)
        c = t - 3
        np.testing.assert_allclose(block.grad_norms[:att.K + 1, c], att.grad_norms, rtol=1e-10)
        np.testing.assert_allclose(block.input_attr[:att.K + 1, c], att.input_attr, rtol=1e-9, atol=1e-14)
        assert np.all(np.isnan(block.grad_norms[att.K + 1:, c]))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_a_block_of_several_sweeps_matches_single_attributions(random_model, sample_text, dtype, rtol):
    """Rows on either side of each sweep's edge, from near the start of the text (the first
    sweep's deep offsets are NaN), and the energy over all of them."""
    from factormap.engine.kernels.block_backprop import ROWS_PER_SWEEP

    text = (sample_text * (3 * ROWS_PER_SWEEP // len(sample_text) + 1))[:2 * ROWS_PER_SWEEP + 60]
    session = Session(random_model(40, seed=3).astype(dtype), text)
    start, stop, K = 2, 2 * ROWS_PER_SWEEP + 41, 6
    block = offset_profiles(session, start, stop, K=K)
    edges = [0, ROWS_PER_SWEEP, 2 * ROWS_PER_SWEEP]
    for c in sorted({c for e in edges for c in (e - 1, e, e + 1) if 0 <= c < stop - start}):
        att = attribution(session, start + c, K)
        np.testing.assert_allclose(block.grad_norms[:att.K + 1, c], att.grad_norms, rtol=rtol)
        np.testing.assert_allclose(block.input_attr_exact[:att.K + 1, c], att.input_attr_exact,
                                   rtol=rtol, atol=rtol * 1e-3)
        assert np.all(np.isnan(block.grad_norms[att.K + 1:, c]))
    energy = np.zeros((K + 1, session.H))
    for t in range(start, stop):
        grads = attribution(session, t, K).grads
        energy[:len(grads)] += np.asarray(grads, np.float64) ** 2
    np.testing.assert_allclose(block.energy, energy, rtol=10 * rtol)


def test_float32_block_profiles_match_the_numpy_bptt_reference(random_model, sample_text):
    """The float32 block kernel (register tiles of the products, and the rows and columns past
    them at H = 88) from the start of the text, where offsets k > t are NaN."""
    model = random_model(88, seed=6)
    x = np.frombuffer(sample_text, np.uint8)
    K, stop = 9, 3 * 6 + 5
    block = offset_profiles(Session(model, sample_text), 0, stop, K)
    energy = np.zeros((K + 1, model.H))
    for t in range(stop):
        ref = bptt_reference(model, x, t, K, int(x[t + 1]))
        norms = np.linalg.norm(ref["grads"], axis=1)
        np.testing.assert_allclose(block.grad_norms[:t + 1, t], norms, rtol=2e-3)
        np.testing.assert_allclose(block.input_attr_exact[:t + 1, t] / norms, ref["input_attr_exact"] / norms,
                                   atol=2e-3)
        assert np.all(np.isnan(block.grad_norms[t + 1:, t]))
        energy[:len(norms)] += ref["grads"] ** 2
    np.testing.assert_allclose(block.energy, energy, rtol=2e-3)


def test_a_float32_summary_of_a_short_text_cuts_K_to_n_minus_2(random_model):
    text = b"the cat sat."
    got = attribution_summary(Session(random_model(88, seed=6), text), K=64)
    x = np.frombuffer(text, np.uint8)
    assert got.K == len(text) - 2 and list(got.count) == list(range(len(text) - 1, 0, -1))
    norms = np.full((got.K + 1, len(text) - 1), np.nan)
    for t in range(len(text) - 1):
        g = bptt_reference(random_model(88, seed=6), x, t, got.K, int(x[t + 1]))["grads"]
        norms[:len(g), t] = np.linalg.norm(g, axis=1)
    np.testing.assert_allclose(got.grad_norms, norms, rtol=2e-3)
    np.testing.assert_allclose(got.mean_norm, np.nanmean(norms, axis=1), rtol=2e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_block_split_between_threads_gives_the_same_profiles(random_model, sample_text, monkeypatch, dtype):
    from factormap.engine.attribution import profiles as profiles_module

    # H = 40: whole tiles and columns past them; float32 parts read out their own rows, so their
    # gradients must be the whole block's bit for bit
    session = Session(random_model(40, seed=3).astype(dtype), sample_text)
    whole = offset_profiles(session, 5, session.n - 1, K=7)
    monkeypatch.setattr(profiles_module, "MIN_ROWS_PER_THREAD", 8)
    monkeypatch.setattr(profiles_module, "_cores", lambda: 3)
    split = offset_profiles(session, 5, session.n - 1, K=7)
    for name in ("grad_norms", "input_attr", "input_attr_exact", "top_share"):
        np.testing.assert_array_equal(getattr(split, name), getattr(whole, name), err_msg=name)
    np.testing.assert_allclose(split.energy, whole.energy, rtol=1e-12)  # summed per part, then added


def test_summary_stops_when_asked(model64, sample_text, monkeypatch):
    monkeypatch.setattr(summary_module, "BLOCK", 50)
    calls = []
    with pytest.raises(Cancelled):
        attribution_summary(Session(model64, sample_text), 4, progress=calls.append,
                            should_stop=lambda: len(calls) >= 2)
    assert len(calls) == 2


def test_summary_K_is_cut_to_the_text(model64):
    got = attribution_summary(Session(model64, b"abcdef"), K=64)
    assert got.K == 4 and list(got.count) == [5, 4, 3, 2, 1]


@pytest.mark.reference
def test_reference_figures(reference):
    model, text = reference
    got = attribution_summary(Session(model, text), K=64)
    assert got.growth_mean[8] == pytest.approx(2.36, abs=0.05)
    assert got.mean_abs_input_attr[1] == pytest.approx(0.041, abs=0.002)
    assert got.mean_abs_input_attr[5] == pytest.approx(0.081, abs=0.003)
    assert got.top_share_k0 == pytest.approx(0.68, abs=0.01)
