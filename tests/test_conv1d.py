"""Conv1d: hand values, gradient checks, PyTorch's numbers and lengths (stored by
tests/data/make_conv_family_reference.py), bad inputs, inside a Sequential."""

from pathlib import Path

import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError, Relu, Tanh
from bprop.layers.conv1d import Conv1d
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient, check_without_input_grad
from bprop.networks import Sequential

REFERENCE = Path(__file__).parent / "data" / "conv_family_reference.npz"


def reference(case):
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {k[len(case) + 1:]: data[k] for k in data.files if k.startswith(case + ".")}


def test_conv1d_forward_hand_values():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    layer = Conv1d(np.array([[[1.0, 0.0, -1.0]]]), np.array([0.5]))
    # y[i] = x[i] - x[i + 2] + 0.5
    np.testing.assert_array_equal(layer.forward(x), [[[-1.5, -1.5, -1.5]]])


def test_conv1d_forward_hand_values_with_stride_and_padding():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    layer = Conv1d(np.array([[[1.0, 0.0, -1.0]]]), np.array([0.5]), stride=2, padding=1)
    # padded [0 1 2 3 4 5 0], windows at 0, 2, 4: [0 1 2], [2 3 4], [4 5 0]
    np.testing.assert_array_equal(layer.forward(x), [[[-1.5, -1.5, 4.5]]])


def test_conv1d_forward_hand_values_over_channels_and_filters():
    x = np.array([[[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]])  # (1, 2, 3)
    W = np.zeros((2, 2, 2))
    W[0, 0] = [1.0, 1.0]   # filter 0: channel 0, two neighbours added
    W[1, 1] = [0.0, 1.0]   # filter 1: channel 1 minus channel 0, shifted by one
    W[1, 0] = [0.0, -1.0]
    y = Conv1d(W, np.zeros(2)).forward(x)
    np.testing.assert_array_equal(y, [[[3.0, 5.0], [18.0, 27.0]]])


def test_conv1d_backward_hand_values():
    layer = Conv1d(np.ones((1, 1, 2)), np.zeros(1))
    layer.forward(np.array([[[0.0, 1.0, 2.0, 3.0]]]))
    dx = layer.backward(np.ones((1, 1, 3)))
    np.testing.assert_array_equal(dx, [[[1, 2, 2, 1]]])  # one unit per window covering a position
    np.testing.assert_array_equal(layer.dW, [[[0 + 1 + 2, 1 + 2 + 3]]])
    np.testing.assert_array_equal(layer.db, [3])


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", [
    ((2, 3, 7), (4, 3, 3), 1, 0),
    ((2, 3, 7), (4, 3, 3), 1, 1),
    ((2, 2, 8), (3, 2, 3), 2, 1),     # stride 2
    ((1, 2, 9), (2, 2, 4), 3, 0),     # the last positions no window covers
    ((2, 1, 5), (2, 1, 5), 1, 0),     # kernel as long as the input: one output
    ((1, 3, 3), (2, 3, 1), 1, 2),     # 1-wide kernel, padding larger than it
    ((3, 2, 4), (2, 2, 2), 4, 3),     # stride larger than the kernel
])
def test_conv1d_backward_matches_numerical(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(sum(x_shape) + 10 * stride + padding)
    layer = Conv1d(rng.standard_normal(w_shape), rng.standard_normal(w_shape[0]), stride=stride, padding=padding)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("case", ["conv1d", "conv1d_pad"])
def test_conv1d_matches_pytorch(case):
    ref = reference(case)
    stride, padding = (int(v) for v in ref["config"])
    layer = Conv1d(ref["weight"].copy(), ref["bias"].copy(), stride=stride, padding=padding)
    np.testing.assert_allclose(layer.forward(ref["x"]), ref["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(ref["dout"]), ref["dx"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.dW, ref["grad.weight"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.db, ref["grad.bias"], rtol=1e-12, atol=1e-12)


def test_conv1d_lengths_match_pytorch():
    with np.load(REFERENCE, allow_pickle=False) as data:
        rows = data["conv1d_sizes"]
    for length, k, s, p, ol in rows:
        assert ol == (length + 2 * p - k) // s + 1  # PyTorch's formula, as PyTorch computed it
        layer = Conv1d(1, 2, int(k), stride=int(s), padding=int(p), rng=0)
        assert layer.output_shape((1, int(length))) == (2, ol)
        assert layer.forward(np.zeros((1, 1, int(length)))).shape == (1, 2, ol)


def test_conv1d_from_sizes_draws_he_weights_and_zero_bias():
    layer = Conv1d(3, 5, 4, stride=2, padding=1, rng=0, dtype=np.float32)
    assert layer.W.shape == (5, 3, 4) and layer.W.dtype == layer.b.dtype == np.float32
    assert (layer.stride, layer.padding, layer.fan_in) == (2, 1, 12)
    expected = np.random.default_rng(0).standard_normal((5, 3, 4), dtype=np.float32) * np.float32(np.sqrt(2 / 12))
    np.testing.assert_array_equal(layer.W, expected)
    np.testing.assert_array_equal(layer.b, 0)


def test_conv1d_reset_parameters_redraws_in_place_with_the_fan_in():
    layer = Conv1d(2, 3, 5, rng=0)
    W = layer.W
    layer.b[...] = 1.0
    layer.reset_parameters("xavier", np.random.default_rng(1))
    assert layer.W is W
    np.testing.assert_array_equal(W, np.random.default_rng(1).standard_normal((3, 2, 5)) * np.sqrt(1 / 10))
    np.testing.assert_array_equal(layer.b, 0)


def test_conv1d_keeps_float32_throughout():
    rng = np.random.default_rng(2)
    layer = Conv1d(2, 3, 3, padding=1, rng=0, dtype=np.float32)
    y = layer.forward(rng.standard_normal((2, 2, 6), dtype=np.float32))
    dx = layer.backward(np.ones(y.shape, np.float32))
    assert y.dtype == dx.dtype == layer.dW.dtype == layer.db.dtype == np.float32


def test_conv1d_without_input_grad_returns_none_but_sets_parameter_gradients():
    rng = np.random.default_rng(3)
    W, b, x = rng.standard_normal((2, 1, 3)), rng.standard_normal(2), rng.standard_normal((2, 1, 6))
    check_without_input_grad(Conv1d(W, b), Conv1d(W, b, input_grad=False), x, rng.standard_normal((2, 2, 4)))


def test_conv1d_backward_leaves_dout_unchanged_and_returns_a_new_array():
    rng = np.random.default_rng(4)
    layer = Conv1d(2, 2, 3, padding=1, rng=0)
    x = rng.standard_normal((2, 2, 5))
    dout = rng.standard_normal(layer.forward(x).shape)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy)
    assert not np.shares_memory(dx, dout) and not np.shares_memory(dx, x)


def test_conv1d_references_its_parameters_and_reprs():
    W, b = np.zeros((4, 2, 3)), np.zeros(4)
    layer = Conv1d(W, b, stride=2, padding=1)
    assert layer.W is W and layer.b is b
    assert layer.params().keys() == {"W", "b"} and Conv1d.decay_names == ("W",)
    assert repr(layer) == "Conv1d(2 -> 4, kernel=3, stride=2, padding=1)"


@pytest.mark.parametrize("args, kwargs, match", [
    ((0, 4, 3), {}, "Conv1d: in_channels must be an integer >= 1, got 0"),
    ((2, 0, 3), {}, "Conv1d: out_channels must be an integer >= 1, got 0"),
    ((2, 4, 0), {}, "Conv1d: kernel_size must be an integer >= 1, got 0"),
    ((2, 4, None), {}, "Conv1d: kernel_size must be an integer >= 1, got None"),
    ((2, 4, 3), {"stride": 0}, "Conv1d: stride must be an integer >= 1, got 0"),
    ((2, 4, 3), {"padding": -1}, "Conv1d: padding must be an integer >= 0, got -1"),
    ((2, 4, 3), {"padding": 1.0}, r"Conv1d: padding must be an integer >= 0, got 1.0"),
    ((2, 4, 3), {"init": "foo"}, "unknown name 'foo'"),
    ((2, 4, 3), {"dtype": np.int64}, "Conv1d: dtype must be float32 or float64"),
    ((np.zeros((4, 2, 3, 3)), np.zeros(4)), {}, r"Conv1d: W must be 3-D \(out_channels, in_channels, kernel_size\)"),
    ((np.zeros((4, 2, 3)), np.zeros(2)), {}, r"Conv1d: b must have shape \(4,\)"),
    ((np.zeros((4, 2, 3)), np.zeros(4), 2), {}, r"kernel size is W's last axis \(3\), got kernel_size=2"),
])
def test_conv1d_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv1d(*args, **kwargs)


@pytest.mark.parametrize("shape, match", [
    ((2, 5), r"non-empty 3-D batch \(N, C, L\), got shape \(2, 5\)"),
    ((0, 2, 5), r"non-empty 3-D batch \(N, C, L\), got shape \(0, 2, 5\)"),
    ((1, 2, 2, 5), r"got shape \(1, 2, 2, 5\)"),
    ((1, 3, 5), r"input has 3 channels, W \(4, 2, 3\) expects 2"),
    ((1, 2, 1), r"kernel 3 is longer than the padded input 1 \(L=1, padding=0\)"),
])
def test_conv1d_forward_rejects_bad_input(shape, match):
    with pytest.raises(ValueError, match=r"Conv1d\(2 -> 4.*" + match):
        Conv1d(2, 4, 3, rng=0).forward(np.zeros(shape))


@pytest.mark.parametrize("shape, match", [
    ((2, 5, 5), r"expects \(2, L\) per sample, got input shape \(2, 5, 5\)"),
    ((3, 5), r"input has 3 channels"),
    ((2, 1), r"kernel 3 is longer than the padded input 1"),
])
def test_conv1d_output_shape_rejects_bad_input_shape(shape, match):
    with pytest.raises(ValueError, match=r"Conv1d\(2 -> 4.*" + match):
        Conv1d(2, 4, 3, rng=0).output_shape(shape)


def test_conv1d_backward_rejects_wrong_dout_and_a_missing_forward():
    layer = Conv1d(1, 2, 3, rng=0)
    with pytest.raises(BackwardBeforeForwardError, match="Conv1d.backward was called before"):
        layer.backward(np.zeros((1, 2, 3)))
    layer.forward(np.zeros((1, 1, 5)))
    with pytest.raises(ValueError, match=r"Conv1d.backward: dout has shape \(1, 2, 4\), expected \(1, 2, 3\)"):
        layer.backward(np.zeros((1, 2, 4)))


def test_conv1d_in_a_sequential_trains_and_gradient_checks():
    rng = np.random.default_rng(5)
    net = Sequential([Conv1d(2, 3, 3, padding=1), Relu(), Conv1d(3, 2, 2, stride=2), Tanh(), Affine(2 * 3, 3)],
                     input_shape=(2, 6), init="he", rng=1)
    assert list(net.shapes.values()) == [(3, 6), (3, 6), (2, 3), (2, 3), (3,)]
    assert set(net.params) == {"W1", "b1", "W2", "b2", "W3", "b3"} and net.params["W2"].shape == (2, 3, 2)
    x, t = rng.standard_normal((4, 2, 6)), rng.integers(0, 3, 4)
    loss = net.loss(x, t)
    grads = net.gradient(x, t)
    assert np.isfinite(loss) and grads.keys() == net.params.keys()
    assert_gradients_close(*net.gradient_check(x, t))


def test_conv1d_sequential_refuses_an_input_length_the_kernel_does_not_fit():
    with pytest.raises(ValueError, match=r"Conv1d\(1 -> 2, kernel=5.*longer than the padded input 3"):
        Sequential([Conv1d(1, 2, 5), Affine(2, 2)], input_shape=(1, 3))
