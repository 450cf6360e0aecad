"""The JSON convention: dotted keys nest, a path given twice is refused, bytes stay faithful."""

import math

import numpy as np
import pytest

from factormap.tui.json_form import json_ready


def test_dotted_keys_nest_and_values_become_plain():
    data = json_ready({"word_len.cov_direction.r": np.float32(0.5), "word_len.best_neuron.j": np.int64(3),
                       "band": {"n": 2}, "band.min": math.nan, "context": b"caf\xe9"})
    assert data == {"word_len": {"cov_direction": {"r": 0.5}, "best_neuron": {"j": 3}},
                    "band": {"n": 2, "min": None}, "context": "caf\xe9"}
    assert data["context"].encode("latin-1") == b"caf\xe9"


@pytest.mark.parametrize("flat", [{"a": 1, "a.b": 2}, {"a.b": 1, "a.b.c": 2}])
def test_a_path_through_a_value_is_refused(flat):
    with pytest.raises(ValueError):
        json_ready(flat)
