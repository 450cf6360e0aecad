"""Model.replace: the arrays it keeps are shared, the ones it replaces are checked copies; so are
the kernels' aligned copies of them."""

import numpy as np
import pytest

from factormap.engine.errors import ModelError
from factormap.engine.forward import kernel_weights
from factormap.engine.model import ARRAY_NAMES, Model


def test_replace_shares_the_arrays_it_keeps_and_what_is_derived_from_them(random_model, rng):
    m = random_model(6)
    kept_transposes = m.WxT, m.WyT
    stale = m.WhT
    Wh = rng.standard_normal((6, 6)).astype(np.float32)
    edited = m.replace(Wh=Wh)
    for name in ("Wx", "bh", "Wy", "by"):
        assert getattr(edited, name) is getattr(m, name)
    assert edited.WxT is kept_transposes[0] and edited.WyT is kept_transposes[1]
    np.testing.assert_array_equal(edited.WhT, Wh.T)
    assert edited.WhT is not stale
    assert edited.spectral_radius == pytest.approx(np.max(np.abs(np.linalg.eigvals(Wh.astype(np.float64)))))


def test_a_replaced_array_is_a_read_only_copy(random_model, rng):
    m = random_model(4)
    by = rng.standard_normal(256).astype(np.float32)
    edited = m.replace(by=by)
    by[:] = 0.0
    assert not edited.by.flags.writeable and np.any(edited.by != 0.0)
    assert edited.source == m.source and m.replace(by=edited.by, source="x").source == "x"


def test_replace_gives_the_model_the_constructor_gives(random_model, rng):
    m = random_model(5)
    Wy = rng.standard_normal((256, 5))  # float64 into a float32 model: the model becomes float64
    for new in (Wy.astype(np.float32), Wy):
        edited = m.replace(Wy=new)
        full = Model(m.Wx, m.Wh, m.bh, new, m.by)
        assert edited.dtype == full.dtype == np.result_type(np.float32, new.dtype)
        for name in ARRAY_NAMES:
            assert getattr(edited, name).dtype == full.dtype
            np.testing.assert_array_equal(getattr(edited, name), getattr(full, name))


def test_replace_refuses_a_wrong_shape_in_one_line(random_model):
    m = random_model(3)
    with pytest.raises(ModelError, match=r"array Wh has shape \(4, 4\), expected \(3, 3\)"):
        m.replace(Wh=np.zeros((4, 4), np.float32))


def test_kernel_weights_of_an_edited_model_share_the_copies_of_the_kept_arrays(random_model, rng):
    m = random_model(6)
    base = kernel_weights(m)
    kept = base.WxT, base.bh, base.WyT_panels
    Wh = rng.standard_normal((6, 6)).astype(np.float32)
    edited = kernel_weights(m.replace(Wh=Wh), like=m)
    assert edited.WxT is kept[0] and edited.bh is kept[1] and edited.WyT_panels is kept[2]
    np.testing.assert_array_equal(edited.WhT, Wh.T)
    readout_edit = kernel_weights(m.replace(by=np.zeros(256, np.float32)), like=m)
    assert readout_edit.WyT_panels is kept[2]
    assert readout_edit.by is not base.by and not np.any(readout_edit.by)
    np.testing.assert_array_equal(readout_edit.logit_bound[:-1], base.logit_bound[:-1])
    assert readout_edit.logit_bound[-1] == 0.0
