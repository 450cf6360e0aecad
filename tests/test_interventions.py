"""Interventions against plain numpy references written here from the definitions."""

from __future__ import annotations

import numpy as np
import pytest

from factormap.engine.errors import Cancelled, FactormapError
from factormap.engine.interventions.analysis import (
    random_direction_control,
    residual_readout,
    sensitivity_band,
)
from factormap.engine.interventions.directions import (
    feature_direction,
    load_direction,
    neuron_axis,
    random_unit_direction,
)
from factormap.engine.interventions.oracle import fit_write_in_oracle, oracle_values
from factormap.engine.interventions.run import EditedRun, intervention_delta
from factormap.engine.interventions.specs import (
    AblateNeurons,
    EditWeights,
    RandomDirection,
    ScaleDirection,
    SubtractAtReadout,
    SubtractEachStep,
    WriteInOracle,
    edits_of,
)
from factormap.engine.session import Session
from tests import naive

FLOOR_BITS = -np.log2(1e-8)


# -- the reference: one step at a time, float64 ------------------------------------------------
def ref_run(model, x, step=(), readout=(), Wh=None):
    """Bits under edits: ``step``/``readout`` are lists of functions (h, t) -> h, applied in order."""
    Wx, bh = (np.asarray(a, np.float64) for a in (model.Wx, model.bh))
    Wh = np.asarray(model.Wh if Wh is None else Wh, np.float64)
    h = np.zeros(model.H)
    seen = np.empty((len(x), model.H))
    for t, b in enumerate(x):
        h = np.tanh(bh + Wx[:, b] + Wh @ h)
        for edit in step:
            h = edit(h, t)
        r = h.copy()
        for edit in readout:
            r = edit(r, t)
        seen[t] = r
    return naive.bits(model.Wy, model.by, seen, x)


def ref_set(u, value):
    """h -> h with its component along unit u set to value(t) (a function of t)."""
    return lambda h, t: h + (value(t) - h @ u) * u


def ref_scale(u, alpha):
    return lambda h, t: h + (alpha - 1) * (h @ u) * u


def ref_unit(j, value):
    def edit(h, t):
        h = h.copy()
        h[j] = value
        return h

    return edit


def unit_vec(rng, H):
    v = rng.standard_normal(H)
    return v / np.linalg.norm(v)


@pytest.fixture
def setup(random_model, sample_text):
    """A float64 model (exact kernels), its session, the text as an array, and H."""
    m = random_model(12, seed=3, scale=0.6).astype(np.float64)
    return m, Session(m, sample_text), np.frombuffer(sample_text, np.uint8), m.H


def check(session, specs, ref_bits, atol=1e-9):
    r = intervention_delta(session, specs)
    np.testing.assert_allclose(r.bits, ref_bits, atol=atol)
    base = naive.bits(session.model.Wy, session.model.by, naive.forward_states(
        session.model.Wx, session.model.Wh, session.model.bh, session.x), session.x)
    np.testing.assert_allclose(r.delta_bits, ref_bits - base, atol=1e-5)
    assert r.delta_bpc == pytest.approx(ref_bits.mean() - base.mean(), abs=1e-5)
    return r


# -- every type against the reference ---------------------------------------------------------
def test_subtract_each_step(setup, rng):
    m, s, x, H = setup
    u = unit_vec(rng, H)
    check(s, [SubtractEachStep(u)], ref_run(m, x, step=[ref_set(u, lambda t: 0.0)]))


def test_subtract_at_readout(setup, rng):
    m, s, x, H = setup
    u = unit_vec(rng, H)
    check(s, [SubtractAtReadout(3 * u)], ref_run(m, x, readout=[ref_set(u, lambda t: 0.0)]))


def test_write_in_oracle(setup, rng):
    m, s, x, H = setup
    u, values = unit_vec(rng, H), rng.normal(0, 0.5, len(x))
    check(s, [WriteInOracle(u, values)], ref_run(m, x, step=[ref_set(u, lambda t: values[t])]))


def test_random_direction_is_a_seeded_gaussian_direction(setup):
    m, s, x, H = setup
    g = np.random.default_rng(7).standard_normal(H)
    np.testing.assert_allclose(random_unit_direction(7, H), g / np.linalg.norm(g))
    check(s, [RandomDirection(7)], ref_run(m, x, step=[ref_set(g / np.linalg.norm(g), lambda t: 0.0)]))


@pytest.mark.parametrize("where", ["each_step", "readout"])
@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_ablate_neurons(setup, where, mode):
    m, s, x, H = setup
    means = naive.forward_states(m.Wx, m.Wh, m.bh, x).mean(axis=0)
    edits = [ref_unit(j, 0.0 if mode == "zero" else means[j]) for j in (2, 5)]
    ref = ref_run(m, x, **{"step" if where == "each_step" else "readout": edits})
    check(s, [AblateNeurons((2, 5), mode=mode, where=where)], ref)


@pytest.mark.parametrize("where", ["each_step", "readout"])
def test_scale_direction(setup, rng, where):
    m, s, x, H = setup
    u = unit_vec(rng, H)
    ref = ref_run(m, x, **{"step" if where == "each_step" else "readout": [ref_scale(u, 0.3)]})
    check(s, [ScaleDirection(u, 0.3, where=where)], ref)


@pytest.mark.parametrize("side", ["left", "right"])
def test_edit_weights(setup, rng, side):
    m, s, x, H = setup
    V = np.linalg.qr(rng.standard_normal((H, 2)))[0]
    P = np.eye(H) - V @ V.T
    Wh = P @ m.Wh if side == "left" else m.Wh @ P
    check(s, [EditWeights(V, side=side)], ref_run(m, x, Wh=Wh))


def test_float32_fast_kernel_follows_the_reference(random_model, sample_text, rng):
    m = random_model(16, seed=5, scale=0.4)
    x = np.frombuffer(sample_text, np.uint8)
    u = unit_vec(rng, 16)
    r = intervention_delta(Session(m, sample_text), [SubtractEachStep(u), ScaleDirection(u[::-1], 0.5)])
    ref = ref_run(m, x, step=[ref_set(u, lambda t: 0.0), ref_scale(u[::-1] / np.linalg.norm(u), 0.5)])
    np.testing.assert_allclose(r.bits, ref, atol=2e-3)


def test_fast_kernel_indexes_per_position_values_across_chunks(random_model, sample_text, rng):
    m = random_model(12, seed=8, scale=0.4)
    text = (sample_text * 12)[:3000]
    x = np.frombuffer(text, np.uint8)
    u, values = unit_vec(rng, 12), rng.normal(0, 0.5, len(x))
    s = Session(m, text, checkpoint_every=64, chunk=256, full_states_limit=0)
    r = intervention_delta(s, [WriteInOracle(u, values), AblateNeurons((3,), mode="mean")])
    means = naive.forward_states(m.Wx, m.Wh, m.bh, x).mean(axis=0)
    ref = ref_run(m, x, step=[ref_set(u, lambda t: values[t]), ref_unit(3, means[3])])
    np.testing.assert_allclose(r.bits, ref, atol=2e-3)


def test_exact_mode_runs_a_float32_model_in_float64(random_model, sample_text, rng):
    m = random_model(16, seed=6)
    x = np.frombuffer(sample_text, np.uint8)
    u = unit_vec(rng, 16)
    r = intervention_delta(Session(m, sample_text), [SubtractEachStep(u)], exact=True)
    np.testing.assert_allclose(r.bits, ref_run(m, x, step=[ref_set(u, lambda t: 0.0)]), atol=1e-4)


# -- identities ---------------------------------------------------------------------------------
def test_alpha_one_and_no_units_leave_bits_identical(random_model, sample_text, rng):
    s = Session(random_model(16), sample_text)
    s.ensure(s.n)
    for specs in ([ScaleDirection(unit_vec(rng, 16), 1.0)], [AblateNeurons(())],
                  [AblateNeurons((), where="readout"), ScaleDirection(unit_vec(rng, 16), 1.0, where="readout")]):
        r = intervention_delta(s, specs)
        np.testing.assert_array_equal(r.bits, s.bits)
        assert r.delta_bpc == 0.0


def test_readout_subtraction_orthogonal_to_every_row_of_wy_changes_nothing(random_model, sample_text, rng):
    m = random_model(16)
    u = unit_vec(rng, 16)
    Wy = m.Wy.astype(np.float64)
    m = m.replace(Wy=(Wy - np.outer(Wy @ u, u)).astype(np.float32))
    s = Session(m, sample_text)
    r = intervention_delta(s, [SubtractAtReadout(u)])
    np.testing.assert_allclose(r.delta_bits, 0.0, atol=1e-4)
    assert abs(r.delta_bpc) < 1e-6
    moved = intervention_delta(s, [SubtractAtReadout(unit_vec(rng, 16))])
    assert abs(moved.delta_bpc) > 1e-3


# -- composition ----------------------------------------------------------------------------------
def test_composition_order_is_weights_then_steps_in_order_then_readout(setup, rng):
    m, s, x, H = setup
    a, b, c = (unit_vec(rng, H) for _ in range(3))
    vals = rng.normal(0, 0.5, len(x))
    V = unit_vec(rng, H)[:, None]
    Wh = (np.eye(H) - V @ V.T) @ m.Wh
    specs = [SubtractAtReadout(a), ScaleDirection(b, 2.5), EditWeights(V), WriteInOracle(c, vals)]
    ref = ref_run(m, x, step=[ref_scale(b, 2.5), ref_set(c, lambda t: vals[t])],
                  readout=[ref_set(a, lambda t: 0.0)], Wh=Wh)
    check(s, specs, ref)
    swapped = ref_run(m, x, step=[ref_set(c, lambda t: vals[t]), ref_scale(b, 2.5)],
                      readout=[ref_set(a, lambda t: 0.0)], Wh=Wh)
    check(s, [specs[0], specs[3], specs[2], specs[1]], swapped)
    assert np.max(np.abs(swapped - ref)) > 1e-3


def test_every_spec_describes_itself_in_one_line(rng):
    u = unit_vec(rng, 8)
    specs = [SubtractEachStep(u, "u_wl"), SubtractAtReadout(u), WriteInOracle(u, [0.0]), RandomDirection(1),
             AblateNeurons((1,)), ScaleDirection(u, 0.5), EditWeights(u, side="right", name="wl PCs")]
    for spec in specs:
        line = spec.describe()
        assert line and "\n" not in line
        assert "<-" not in line and " - " not in line and "^T" not in line  # formulas in ← − ᵀ
    assert EditWeights(u).describe() == "edit weights: Wh ← (I − V Vᵀ) Wh, V = 1 direction(s)"
    assert {s.stage for s in specs} == {"weights", "each_step", "readout"}
    assert edits_of(specs[1]).startswith("only the state the readout sees")
    assert edits_of(AblateNeurons((1,), where="readout")) == edits_of(specs[1])


# -- robustness -----------------------------------------------------------------------------------
def test_overflowing_edits_give_finite_bits(random_model, sample_text, rng):
    s = Session(random_model(16, scale=3.0), sample_text)
    for specs in ([ScaleDirection(unit_vec(rng, 16), 1e30)], [ScaleDirection(unit_vec(rng, 16), -1e30, where="readout")],
                  [WriteInOracle(unit_vec(rng, 16), np.full(len(sample_text), 1e300))]):
        r = intervention_delta(s, specs)
        assert np.all(np.isfinite(r.bits)) and np.all(r.bits >= 0) and np.all(r.bits <= FLOOR_BITS + 1e-3)
        assert np.isfinite(r.delta_bpc)


def test_bad_specs_fail_in_one_sentence(setup, rng):
    m, s, x, H = setup
    for make in (lambda: SubtractEachStep(np.zeros(H)), lambda: ScaleDirection(unit_vec(rng, H), np.nan),
                 lambda: AblateNeurons((1,), mode="half"), lambda: EditWeights(np.ones((H, 2))),
                 lambda: WriteInOracle(unit_vec(rng, H), [0.0], variant="median"),
                 lambda: AblateNeurons((1,), where="input")):
        with pytest.raises(FactormapError):
            make()
    for specs in ([SubtractEachStep(np.ones(H + 1))], [AblateNeurons((H,))], [WriteInOracle(np.ones(H), [1.0])]):
        with pytest.raises(FactormapError, match=r"^[^\n]+\.$"):
            intervention_delta(s, specs)


# -- streaming, windows, cancelling ---------------------------------------------------------------
def _long(sample_text, n=3000):
    return (sample_text * (n // len(sample_text) + 1))[:n]


@pytest.mark.parametrize("feeds", [True, False])
def test_windows_and_chunks_agree_with_the_whole_run(random_model, sample_text, rng, feeds):
    m = random_model(12, scale=0.5)
    text = _long(sample_text)
    u = unit_vec(rng, 12)
    specs = [SubtractEachStep(u)] if feeds else [SubtractAtReadout(u)]
    whole = intervention_delta(Session(m, text, chunk=1 << 16), specs)
    chunked = Session(m, text, checkpoint_every=64, chunk=256, full_states_limit=0)
    run = EditedRun(chunked, specs)
    np.testing.assert_allclose(run.delta_bits(1000, 1200), whole.delta_bits[1000:1200], atol=1e-5)
    assert run.delta_at(1500) == pytest.approx(float(whole.delta_bits[1500]), abs=1e-5)
    assert run.window_delta_bpc(0, 3000) == pytest.approx(whole.delta_bpc, abs=1e-5)
    np.testing.assert_allclose(run.result().bits, whole.bits, atol=1e-5)
    run.close()


@pytest.mark.parametrize("feeds", [True, False])
def test_a_run_without_delta_bits_gives_the_same_delta_bpc(random_model, sample_text, rng, feeds):
    m = random_model(12, scale=0.5)
    s = Session(m, _long(sample_text), checkpoint_every=64, chunk=256)
    u = unit_vec(rng, 12)
    specs = [SubtractEachStep(u)] if feeds else [SubtractAtReadout(u)]
    kept = intervention_delta(s, specs)
    lean = EditedRun(s, specs, keep_delta_bits=False)
    result = lean.result()
    assert result.delta_bpc == kept.delta_bpc and result.bpc == kept.bpc
    assert result.delta_bpc == pytest.approx(float(np.mean(kept.delta_bits, dtype=np.float64)), rel=1e-12, abs=1e-15)
    assert result.delta_bits is None and result.bits is None
    if feeds:  # a window of a run that feeds the recurrence needs the stored values
        with pytest.raises(ValueError, match="keeps no per-position"):
            lean.delta_bits(10, 20)
    lean.close()


def test_progress_and_cancel(random_model, sample_text, rng):
    s = Session(random_model(8), _long(sample_text), checkpoint_every=100, chunk=500)
    seen = []
    intervention_delta(s, [SubtractEachStep(unit_vec(rng, 8))], progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        intervention_delta(s, [SubtractEachStep(unit_vec(rng, 8))], should_stop=lambda: next(calls) >= 2)


# -- analyses ---------------------------------------------------------------------------------------
def test_residual_readout_refits_on_the_edited_states(setup, rng):
    m, s, x, H = setup
    u = unit_vec(rng, H)
    f = rng.integers(0, 5, len(x)).astype(np.float64)
    got = residual_readout(s, [SubtractEachStep(u)], f)
    states = naive.forward_states(m.Wx, m.Wh, m.bh, x)
    h, edited = np.zeros(H), np.empty_like(states)
    for t, b in enumerate(x):
        h = np.tanh(m.bh + m.Wx[:, b] + m.Wh @ h)
        h = h - (h @ u) * u
        edited[t] = h
    cov = ((edited - edited.mean(0)) * (f - f.mean())[:, None]).mean(0)
    w = cov / np.linalg.norm(cov)
    assert got.r == pytest.approx(np.corrcoef(edited @ w, f)[0, 1], abs=1e-9)
    np.testing.assert_allclose(got.readout.cov_direction, w, atol=1e-9)


def test_sensitivity_band(setup, rng):
    m, s, x, H = setup
    specs = [SubtractEachStep(unit_vec(rng, H)), EditWeights(unit_vec(rng, H))]
    still = sensitivity_band(s, specs, n=3, eps=0.0)
    assert still.min == still.max == still.value
    band = sensitivity_band(s, specs, n=4, eps=1e-2)
    assert band.min <= band.value <= band.max and band.min < band.max and band.nudged.size == 4
    fixed = sensitivity_band(s, [AblateNeurons((1,))], n=3, eps=1e-2)
    assert fixed.min == fixed.max == fixed.value and fixed.nudged.size == 3


def test_random_control_is_the_mean_of_its_seeds(setup):
    m, s, x, H = setup
    ctl = random_direction_control(s, n=3, first_seed=5)
    each = [intervention_delta(s, [RandomDirection(k)]).delta_bpc for k in (5, 6, 7)]
    assert ctl.mean == pytest.approx(np.mean(each)) and ctl.min == min(each) and ctl.max == max(each)


def test_oracle_values(setup, rng):
    m, s, x, H = setup
    p, f = rng.normal(size=200), rng.integers(0, 4, 200).astype(float)
    a, c = np.polyfit(f, p, 1)
    np.testing.assert_allclose(oracle_values(p, f, "linear"), a * f + c, atol=1e-12)
    cm = oracle_values(p, f, "conditional_mean")
    for k in range(4):
        np.testing.assert_allclose(cm[f == k], p[f == k].mean())
    u = unit_vec(rng, H)
    feat = (np.arange(len(x)) % 7).astype(float)
    spec = fit_write_in_oracle(s, u, feat, "linear")
    proj = naive.forward_states(m.Wx, m.Wh, m.bh, x) @ u
    np.testing.assert_allclose(spec.values, oracle_values(proj, feat), atol=1e-9)


def test_directions_from_axes_and_files(tmp_path):
    np.testing.assert_array_equal(neuron_axis(2, 4), [0, 0, 1, 0])
    np.save(tmp_path / "v.npy", np.array([3.0, 0, 4, 0]))
    np.testing.assert_allclose(load_direction(tmp_path / "v.npy", 4), [0.6, 0, 0.8, 0])
    (tmp_path / "v.txt").write_text("# u_wl\n3, 0\n4 0\n")
    np.testing.assert_allclose(load_direction(tmp_path / "v.txt", 4), [0.6, 0, 0.8, 0])
    (tmp_path / "zero.txt").write_text("0 0 0 0")
    (tmp_path / "junk.txt").write_text("one two")
    for name, msg in (("v.txt", "H = 5"), ("zero.txt", "zero vector"), ("junk.txt", "not a vector"),
                      ("missing.txt", "no such")):
        with pytest.raises(FactormapError, match=msg):
            load_direction(tmp_path / name, 5 if name == "v.txt" else 4)


def test_directions_from_the_factor_map(random_model, sample_text):
    from factormap.engine.factor_map.compute import compute_factor_map
    from factormap.engine.factor_map.features import standard_features

    feats = standard_features(np.frombuffer(sample_text, np.uint8))
    fm = compute_factor_map(Session(random_model(8), sample_text),
                            {"word_len": feats["word_len"], "flat": np.zeros(len(sample_text))}, min_support=3)
    np.testing.assert_allclose(feature_direction(fm, "word_len"), fm.readouts["word_len"].cov_direction)
    np.testing.assert_allclose(feature_direction(fm, "word_len", "pc1"), fm.readouts["word_len"].pc1_direction)
    for name, which, msg in (("nope", "cov", "no feature"), ("flat", "cov", "zero vector"),
                             ("flat", "pc1", "NaN"), ("word_len", "pc2", "which")):
        with pytest.raises(FactormapError, match=msg):
            feature_direction(fm, name, which)


# -- the research's figures -------------------------------------------------------------------------
@pytest.mark.reference
def test_reference_figures(reference):
    from factormap.engine.factor_map.compute import compute_factor_map
    from factormap.engine.factor_map.features import standard_features

    model, text = reference
    s = Session(model, text)
    wl = compute_factor_map(s).readouts["word_len"]
    f = standard_features(s.x)["word_len"]
    res = residual_readout(s, [SubtractEachStep(wl.cov_direction)], f, "word_len")
    assert 6.3 <= res.result.delta_bpc <= 7.5
    assert 0.2 <= res.r <= 0.45
    assert intervention_delta(s, [SubtractAtReadout(wl.cov_direction)]).delta_bpc == pytest.approx(0.146, abs=0.01)
    assert 1.8 <= random_direction_control(s, n=20).mean <= 3.0
    edit = EditWeights.top_components(wl.pca_components, m=1)
    assert 5.0 <= intervention_delta(s, [edit]).delta_bpc <= 6.8
