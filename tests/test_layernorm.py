"""LayerNorm: hand values, gradient checks, PyTorch's numbers (stored by
tests/data/make_transformer_reference.py), bad inputs."""

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.layers.layernorm import LayerNorm
from torch_reference import TORCH_RTOL, normwise_error, reference


def test_layernorm_forward_hand_values():
    layer = LayerNorm(4)
    layer.gamma[...] = [1.0, 2.0, 1.0, 1.0]
    layer.beta[...] = [0.0, 0.0, 0.5, 0.0]
    x = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]])
    # row 0: mean 2.5, var 1.25; row 1: mean 3, var 3; eps 1e-5
    r0, r1 = 1 / np.sqrt(1.25 + 1e-5), 1 / np.sqrt(3.0 + 1e-5)
    expected = [[-1.5 * r0, 2 * -0.5 * r0, 0.5 * r0 + 0.5, 1.5 * r0],
                [-r1, 2 * -r1, -r1 + 0.5, 3 * r1]]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-14, atol=1e-15)


def test_layernorm_eps_is_added_to_the_variance():
    layer = LayerNorm(2, eps=1.0)
    y = layer.forward(np.array([[0.0, 2.0]]))  # mean 1, var 1: (x - 1) / sqrt(2)
    np.testing.assert_allclose(y, [[-1 / np.sqrt(2), 1 / np.sqrt(2)]], rtol=1e-15)


def test_layernorm_normalises_each_position_of_a_sequence_on_its_own():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 6)) * 4 + 7
    y = LayerNorm(6).forward(x)
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, rtol=1e-4)  # var / (var + eps)


@pytest.mark.parametrize("shape, normalized", [((1, 3), 3), ((4, 5), 5), ((2, 3, 4), 4), ((2, 3, 4), (3, 4)),
                                               ((2, 2, 3, 2), (3, 2))])
def test_layernorm_backward_matches_numerical(shape, normalized):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    layer = LayerNorm(normalized)
    layer.gamma[...] = rng.standard_normal(layer.gamma.shape)
    layer.beta[...] = rng.standard_normal(layer.beta.shape)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal(shape), rng=rng)
    assert set(analytic) == {"x", "gamma", "beta"}
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("case, eps", [("layernorm", 1e-5), ("layernorm2d", 1e-3)])
def test_layernorm_matches_pytorch_forward_and_every_gradient(case, eps):
    ref = reference(case)
    layer = LayerNorm.from_torch(ref, eps=eps)
    assert layer.normalized_shape == ref["weight"].shape
    y = layer.forward(ref["x"])
    dx = layer.backward(ref["dout"])
    assert normwise_error(y, ref["y"]) < TORCH_RTOL
    assert normwise_error(dx, ref["dx"]) < TORCH_RTOL
    assert normwise_error(layer.dgamma, ref["grad.weight"]) < TORCH_RTOL
    assert normwise_error(layer.dbeta, ref["grad.bias"]) < TORCH_RTOL


def test_layernorm_to_torch_gives_back_the_arrays_from_torch():
    ref = reference("layernorm")
    state = LayerNorm.from_torch(ref).to_torch()
    assert set(state) == {"weight", "bias"}
    np.testing.assert_array_equal(state["weight"], ref["weight"])
    np.testing.assert_array_equal(state["bias"], ref["bias"])


def test_layernorm_backward_leaves_dout_unchanged_and_float32_stays_float32():
    rng = np.random.default_rng(3)
    layer = LayerNorm(4, dtype=np.float32)
    layer.forward(rng.standard_normal((2, 4)).astype(np.float32))
    dout = rng.standard_normal((2, 4)).astype(np.float32)
    before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, before)
    assert dx.dtype == layer.dgamma.dtype == layer.dbeta.dtype == np.float32


def test_layernorm_repr_params_and_output_shape():
    assert repr(LayerNorm(8)) == "LayerNorm(8, eps=1e-05)"
    assert repr(LayerNorm((3, 4), eps=1e-3)) == "LayerNorm((3, 4), eps=0.001)"
    layer = LayerNorm(8)
    assert layer.param_names == ("gamma", "beta") and layer.decay_names == ()
    assert layer.output_shape((5, 8)) == (5, 8)
    with pytest.raises(ValueError, match=r"LayerNorm\(8, eps=1e-05\): the input's last axes must be \(8,\)"):
        layer.output_shape((5, 7))


def test_layernorm_reset_parameters_gives_ones_and_zeros():
    layer = LayerNorm(3)
    layer.gamma[...], layer.beta[...] = 5.0, 5.0
    layer.reset_parameters("he", np.random.default_rng(0))
    np.testing.assert_array_equal(layer.gamma, 1.0)
    np.testing.assert_array_equal(layer.beta, 0.0)


@pytest.mark.parametrize("args, match", [
    ((0,), "LayerNorm: normalized_shape must be an integer >= 1, got 0"),
    (((3, -1),), "LayerNorm: normalized_shape must be an integer >= 1, got -1"),
    (((),), r"LayerNorm: normalized_shape must name at least one axis, got \(\)"),
    ((2.5,), "LayerNorm: normalized_shape must be an int or a tuple of ints, got 2.5"),
    ((4, 0.0), "LayerNorm: eps must be a finite number > 0, got 0.0"),
    ((4, float("nan")), "LayerNorm: eps must be a finite number > 0, got nan"),
])
def test_layernorm_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        LayerNorm(*args)


def test_layernorm_rejects_bad_dtype():
    with pytest.raises(ValueError, match="LayerNorm: dtype must be float32 or float64, got int64"):
        LayerNorm(4, dtype=np.int64)


@pytest.mark.parametrize("shape", [(4,), (2, 5), (0, 4), (2, 3, 5)])
def test_layernorm_rejects_inputs_of_the_wrong_shape(shape):
    layer = LayerNorm((3, 4) if shape == (2, 3, 5) else 4)
    with pytest.raises(ValueError, match=r"LayerNorm\(.*input must be a non-empty batch .* got shape"):
        layer.forward(np.zeros(shape))


def test_layernorm_backward_before_forward_and_wrong_dout():
    layer = LayerNorm(4)
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.zeros((2, 4)))
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"LayerNorm.backward: dout has shape \(3, 4\), expected \(2, 4\)"):
        layer.backward(np.zeros((3, 4)))
