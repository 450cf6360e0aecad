"""Model.replace: the arrays it keeps are shared, the ones it replaces are checked copies."""

import numpy as np
import pytest

from factormap.engine.errors import ModelError
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
