"""Softmax as a layer: hand values, PyTorch's nn.Softmax(dim), gradient checks, large logits, errors."""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from bprop.layers import ACTIVATIONS, BackwardBeforeForwardError
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.layers.softmax_layer import Softmax
from bprop.networks import Sequential

REFERENCE = json.loads((Path(__file__).parent / "data" / "activation_loss_reference.json").read_text())


def test_softmax_layer_hand_values():
    layer = Softmax()
    y = layer.forward(np.array([[0.0, math.log(3.0)], [5.0, 5.0]]))
    np.testing.assert_allclose(y, [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    # row 0: sum(dout * y) = 1/4, dx = y * (dout - 1/4) = [3/16, -3/16]; row 1: dout - 1/2 = [1/2, -1/2]
    dx = layer.backward(np.array([[1.0, 0.0], [2.0, 1.0]]))
    np.testing.assert_allclose(dx, [[0.1875, -0.1875], [0.25, -0.25]], rtol=1e-15)


def test_softmax_layer_along_the_first_axis_normalises_columns():
    y = Softmax(axis=0).forward(np.array([[0.0, 1.0], [math.log(3.0), 1.0]]))
    np.testing.assert_allclose(y, [[0.25, 0.5], [0.75, 0.5]], rtol=1e-15)


@pytest.mark.parametrize("case", REFERENCE["softmax"], ids=[f"dim={c['axis']}" for c in REFERENCE["softmax"]])
def test_softmax_layer_matches_pytorch(case):
    layer = Softmax(axis=case["axis"])
    y = layer.forward(np.array(case["x"]))
    dx = layer.backward(np.array(case["dout"]))
    np.testing.assert_allclose(y, case["y"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, case["dx"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape, axis", [((1, 3), -1), ((5, 4), 1), ((5, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1)])
def test_softmax_layer_backward_matches_numerical_in_float64(shape, axis):
    rng = np.random.default_rng(11)
    x = 2 * rng.standard_normal(shape)
    analytic, numeric = check_layer_gradient(Softmax(axis), x, rng=rng)
    assert_gradients_close(analytic, numeric)


def test_softmax_layer_of_plus_minus_1000_is_exact_and_silent():
    layer = Softmax()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(np.array([[1000.0, -1000.0, 1000.0]]))
        dx = layer.backward(np.array([[1.0, 5.0, 0.0]]))
    np.testing.assert_array_equal(y, [[0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(dx, [[0.25, 0.0, -0.25]])  # y * (dout - 1/2)


def test_softmax_layer_keeps_float32_and_leaves_dout_alone():
    layer = Softmax()
    assert layer.forward(np.zeros((2, 3), np.float32)).dtype == np.float32
    dout = np.ones((2, 3), np.float32)
    dx = layer.backward(dout)
    assert dx.dtype == np.float32 and not np.shares_memory(dx, dout)
    np.testing.assert_array_equal(dout, 1.0)


def test_softmax_layer_in_a_network_keeps_shapes_and_is_no_activation_name():
    net = Sequential([Softmax(axis=-1)], loss="identity", input_shape=(3, 4))
    assert net.predict(np.zeros((2, 3, 4))).shape == (2, 3, 4)
    assert "softmax" not in ACTIVATIONS
    assert repr(Softmax(axis=1)) == "Softmax(axis=1)"


@pytest.mark.parametrize("axis", [1.0, "1", None, True])
def test_softmax_layer_rejects_an_axis_that_is_not_an_integer(axis):
    with pytest.raises(ValueError, match=rf"^Softmax: axis must be an integer, got {axis!r}$"):
        Softmax(axis)


def test_softmax_layer_rejects_an_axis_out_of_range():
    with pytest.raises(ValueError, match=r"^Softmax: axis 2 is out of range for an input of shape \(3, 4\)$"):
        Softmax(axis=2).forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"^Softmax: axis -3 is out of range for a batched input of per-sample "
                                         r"shape \(4,\)$"):
        Softmax(axis=-3).output_shape((4,))
    assert Softmax(axis=-2).output_shape((4,)) == (4,)


def test_softmax_layer_backward_before_forward_or_with_wrong_dout_says_so():
    with pytest.raises(BackwardBeforeForwardError, match=r"Softmax.backward was called before"):
        Softmax().backward(np.ones((1, 2)))
    layer = Softmax()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Softmax.backward: dout has shape \(3, 2\)"):
        layer.backward(np.ones((3, 2)))
