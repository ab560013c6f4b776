import numpy as np
import pytest

from bprop.layers import make_rng


def test_make_rng_passes_a_generator_through():
    g = np.random.default_rng(0)
    assert make_rng(g) is g


def test_make_rng_seeds_from_an_int():
    assert make_rng(3).random() == np.random.default_rng(3).random()


def test_make_rng_none_gives_a_generator():
    assert isinstance(make_rng(None), np.random.Generator)


@pytest.mark.parametrize("bad", ["0", 1.5, True, np.random.RandomState(0)])
def test_make_rng_rejects_other_types(bad):
    with pytest.raises(ValueError, match="rng must be None, an int seed or a numpy.random.Generator"):
        make_rng(bad)
