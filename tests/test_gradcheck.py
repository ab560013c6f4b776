import numpy as np
import pytest

from bprop.layers import numerical_gradient, relative_error
from bprop.layers.gradcheck import assert_gradients_close


def test_numerical_gradient_of_sum_of_squares():
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.sum(x ** 2)), x), [6.0, 8.0], rtol=1e-8)


def test_numerical_gradient_restores_x_exactly():
    x = np.random.default_rng(0).standard_normal((3, 2))
    before = x.copy()
    numerical_gradient(lambda: float(np.sum(np.sin(x))), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_rejects_integer_arrays():
    with pytest.raises(ValueError, match="floating numpy array"):
        numerical_gradient(lambda: 0.0, np.array([1, 2]))


def test_relative_error_is_scale_free():
    assert relative_error(np.array([1.0]), np.array([1.0])) == 0.0
    assert relative_error(np.array([1e-3]), np.array([2e-3])) == pytest.approx(1 / 3)


def test_assert_gradients_close_reports_key_and_error():
    with pytest.raises(AssertionError, match=r"gradient 'W' differs.*relative error"):
        assert_gradients_close({"W": np.ones(2)}, {"W": np.array([1.0, 2.0])})
