import warnings

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, Relu, Sigmoid, Tanh
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient

ACTIVATIONS = [Relu, Sigmoid, Tanh]


def test_relu_forward_and_backward_hand_values():
    layer = Relu()
    np.testing.assert_array_equal(layer.forward(np.array([[-1.0, 0.0, 2.0]])), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])


def test_sigmoid_forward_and_backward_hand_values():
    layer = Sigmoid()
    np.testing.assert_allclose(layer.forward(np.array([[0.0, np.log(3.0)]])), [[0.5, 0.75]])
    np.testing.assert_allclose(layer.backward(np.array([[1.0, 2.0]])), [[0.25, 2 * 0.75 * 0.25]])


def test_tanh_forward_and_backward_hand_values():
    layer = Tanh()
    y = layer.forward(np.array([[0.0, np.log(2.0)]]))
    np.testing.assert_allclose(y, [[0.0, 0.6]])
    np.testing.assert_allclose(layer.backward(np.array([[2.0, 1.0]])), [[2.0, 1 - 0.36]])


@pytest.mark.parametrize("cls", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 4)])
def test_activation_backward_matches_numerical(cls, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if cls is Relu:
        x[np.abs(x) < 1e-3] = 0.5  # the kink is not differentiable
    analytic, numeric = check_layer_gradient(cls(), x, rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("cls", ACTIVATIONS)
def test_activation_backward_leaves_dout_unchanged_and_returns_new_array(cls):
    rng = np.random.default_rng(1)
    layer = cls()
    layer.forward(rng.standard_normal((3, 4)))
    dout = rng.standard_normal((3, 4))
    before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, before)
    assert dx is not dout and not np.shares_memory(dx, dout)


@pytest.mark.parametrize("cls", ACTIVATIONS)
def test_activation_keeps_float32(cls):
    layer = cls()
    y = layer.forward(np.ones((2, 2), np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones((2, 2), np.float32)).dtype == np.float32


def test_sigmoid_layer_is_exact_and_silent_for_plus_minus_1000():
    layer = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(np.array([[-1000.0, 1000.0]]))
        dx = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(y, [[0.0, 1.0]])
    np.testing.assert_array_equal(dx, [[0.0, 0.0]])


@pytest.mark.parametrize("cls", ACTIVATIONS)
def test_activation_backward_before_forward_says_so(cls):
    with pytest.raises(BackwardBeforeForwardError, match=f"{cls.__name__}.backward was called before"):
        cls().backward(np.ones((1, 1)))


@pytest.mark.parametrize("cls", ACTIVATIONS)
def test_activation_backward_rejects_wrong_dout_shape(cls):
    layer = cls()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward: dout has shape \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


@pytest.mark.parametrize("layer_class", [Relu, Sigmoid, Tanh])
def test_activation_backward_with_dout_in_another_memory_layout_than_its_input(layer_class):
    # a conv net's activation sees channels-last x and, behind an Affine, channels-first dout
    rng = np.random.default_rng(5)
    x = np.ascontiguousarray(rng.standard_normal((3, 5, 4, 6)).transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    dout = rng.standard_normal(x.shape)  # C-contiguous (N, C, H, W)
    layer = layer_class()
    layer.forward(x)
    dx = layer.backward(dout)
    reference = layer_class()
    reference.forward(np.ascontiguousarray(x))
    np.testing.assert_array_equal(dx, reference.backward(dout))
    assert dx.transpose(0, 2, 3, 1).flags.c_contiguous  # laid out like x
