"""ConvTranspose2d: hand values, the adjoint of Convolution, gradient checks, PyTorch's numbers
and sizes (stored by tests/data/make_conv_family_reference.py), bad inputs, inside a Sequential."""

from pathlib import Path

import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError, Convolution, Relu
from bprop.layers.conv_transpose import ConvTranspose2d
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import Sequential

REFERENCE = Path(__file__).parent / "data" / "conv_family_reference.npz"
X22 = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])


def reference(case):
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {k[len(case) + 1:]: data[k] for k in data.files if k.startswith(case + ".")}


def test_conv_transpose_forward_hand_values_stride_two_paints_disjoint_blocks():
    y = ConvTranspose2d(np.ones((1, 1, 2, 2)), np.zeros(1), stride=2).forward(X22)
    np.testing.assert_array_equal(y, [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]])


def test_conv_transpose_forward_hand_values_stride_one_adds_overlaps():
    y = ConvTranspose2d(np.ones((1, 1, 2, 2)), np.zeros(1)).forward(X22)
    np.testing.assert_array_equal(y, [[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]])
    # padding=1 crops one row and column from each side: (2 - 1) - 2 + 2 = 1
    np.testing.assert_array_equal(ConvTranspose2d(np.ones((1, 1, 2, 2)), np.zeros(1), padding=1).forward(X22),
                                  [[[[10]]]])


def test_conv_transpose_output_padding_adds_rows_and_columns_that_hold_only_the_bias():
    layer = ConvTranspose2d(np.ones((1, 1, 1, 1)), np.array([0.5]), stride=2, output_padding=1)
    # (2 - 1)*2 + 1 + 1 = 4
    np.testing.assert_array_equal(layer.forward(X22), [[[[1.5, 0.5, 2.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                                                          [3.5, 0.5, 4.5, 0.5], [0.5, 0.5, 0.5, 0.5]]]])


def test_conv_transpose_forward_hand_values_over_channels():
    W = np.zeros((2, 3, 1, 1))
    W[0, :, 0, 0] = [1.0, 0.0, 2.0]    # input channel 0 goes to outputs 0 and 2 (twice)
    W[1, :, 0, 0] = [0.0, 1.0, -1.0]   # input channel 1 goes to output 1, minus into output 2
    x = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 10.0)])[None]
    y = ConvTranspose2d(W, np.array([0.0, 0.0, 0.25])).forward(x)
    np.testing.assert_array_equal(y[0, :, 0, 0], [1.0, 10.0, 2.0 - 10.0 + 0.25])


def test_conv_transpose_backward_hand_values():
    layer = ConvTranspose2d(np.ones((1, 1, 2, 2)), np.zeros(1), stride=2)
    layer.forward(X22)
    dout = np.arange(16.0).reshape(1, 1, 4, 4)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, [[[[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]]])
    # dW[u, v] = sum_ij x[i, j] * dout[2i + u, 2j + v]
    np.testing.assert_array_equal(layer.dW, [[[[1 * 0 + 2 * 2 + 3 * 8 + 4 * 10, 1 * 1 + 2 * 3 + 3 * 9 + 4 * 11],
                                               [1 * 4 + 2 * 6 + 3 * 12 + 4 * 14, 1 * 5 + 2 * 7 + 3 * 13 + 4 * 15]]]])
    np.testing.assert_array_equal(layer.db, [120])


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding", [
    ((2, 3, 4, 5), (3, 2, 3, 3), 2, 1, 1),
    ((1, 2, 3, 3), (2, 3, 4, 4), 2, 1, 0),
    ((2, 2, 2, 3), (2, 2, 2, 3), 3, 0, 2),
    ((1, 2, 5, 2), (2, 1, 5, 5), 1, 2, 0),
])
def test_conv_transpose_forward_is_the_input_gradient_of_a_convolution(x_shape, w_shape, stride, padding,
                                                                       output_padding):
    rng = np.random.default_rng(sum(x_shape))
    W, x = rng.standard_normal(w_shape), rng.standard_normal(x_shape)
    up = ConvTranspose2d(W, np.zeros(w_shape[1]), stride=stride, padding=padding, output_padding=output_padding)
    y = up.forward(x)
    # the convolution with the same filters maps y's size back onto x's
    conv = Convolution(W, np.zeros(w_shape[0]), stride=stride, pad=padding)
    assert conv.forward(rng.standard_normal(y.shape)).shape == x.shape
    np.testing.assert_allclose(conv.backward(x), y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding", [
    ((2, 3, 3, 3), (3, 2, 3, 3), 1, 0, 0),
    ((2, 3, 3, 4), (3, 2, 3, 3), 2, 1, 1),   # PyTorch's "double the size" setting
    ((2, 2, 3, 3), (2, 2, 3, 3), 2, 1, 0),
    ((1, 2, 2, 3), (2, 3, 2, 3), 3, 0, 2),   # stride larger than the kernel: gaps of bias only
    ((2, 1, 4, 2), (1, 2, 4, 2), 2, 1, 1),   # non-square kernel
    ((1, 2, 3, 3), (2, 2, 5, 5), 1, 2, 0),   # 'same' size
    ((2, 2, 2, 2), (2, 3, 1, 1), 2, 0, 1),
])
def test_conv_transpose_backward_matches_numerical(x_shape, w_shape, stride, padding, output_padding):
    rng = np.random.default_rng(sum(x_shape) + 7 * stride + padding)
    layer = ConvTranspose2d(rng.standard_normal(w_shape), rng.standard_normal(w_shape[1]), stride=stride,
                            padding=padding, output_padding=output_padding)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("case", ["convt", "convt_rect"])
def test_conv_transpose_matches_pytorch(case):
    ref = reference(case)
    s, p, op = (int(v) for v in ref["config"])
    layer = ConvTranspose2d(ref["weight"].copy(), ref["bias"].copy(), stride=s, padding=p, output_padding=op)
    np.testing.assert_allclose(layer.forward(ref["x"]), ref["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(ref["dout"]), ref["dx"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.dW, ref["grad.weight"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.db, ref["grad.bias"], rtol=1e-12, atol=1e-12)


def test_conv_transpose_output_sizes_match_pytorch():
    with np.load(REFERENCE, allow_pickle=False) as data:
        rows = data["convt_sizes"]
    assert len(rows) >= 8
    for h, w, kh, kw, s, p, op, oh, ow in (tuple(int(v) for v in row) for row in rows):
        assert (oh, ow) == ((h - 1) * s - 2 * p + kh + op, (w - 1) * s - 2 * p + kw + op)
        layer = ConvTranspose2d(1, 2, (kh, kw), stride=s, padding=p, output_padding=op, rng=0)
        assert layer.output_shape((1, h, w)) == (2, oh, ow)
        assert layer.forward(np.zeros((1, 1, h, w))).shape == (1, 2, oh, ow)


def test_conv_transpose_from_sizes_draws_he_weights_and_zero_bias():
    layer = ConvTranspose2d(3, 5, (2, 4), stride=2, rng=0, dtype=np.float32)
    assert layer.W.shape == (3, 5, 2, 4) and layer.W.dtype == layer.b.dtype == np.float32
    assert layer.fan_in == 3 * 2 * 4 and layer.b.shape == (5,)
    expected = np.random.default_rng(0).standard_normal((3, 5, 2, 4), dtype=np.float32) * np.float32(np.sqrt(2 / 24))
    np.testing.assert_array_equal(layer.W, expected)
    np.testing.assert_array_equal(layer.b, 0)
    assert ConvTranspose2d(1, 2, 3).W.shape == (1, 2, 3, 3)


def test_conv_transpose_reset_parameters_redraws_in_place():
    layer = ConvTranspose2d(2, 3, 3, rng=0)
    W = layer.W
    layer.b[...] = 1.0
    layer.reset_parameters(0.1, np.random.default_rng(1))
    assert layer.W is W
    np.testing.assert_array_equal(W, np.random.default_rng(1).standard_normal((2, 3, 3, 3)) * 0.1)
    np.testing.assert_array_equal(layer.b, 0)


def test_conv_transpose_keeps_float32_and_skips_dx_without_input_grad():
    rng = np.random.default_rng(2)
    layer = ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=0, dtype=np.float32)
    y = layer.forward(rng.standard_normal((2, 2, 3, 3), dtype=np.float32))
    dx = layer.backward(np.ones(y.shape, np.float32))
    assert y.dtype == dx.dtype == layer.dW.dtype == layer.db.dtype == np.float32
    dW = layer.dW.copy()
    layer.input_grad = False
    assert layer.backward(np.ones(y.shape, np.float32)) is None
    np.testing.assert_array_equal(layer.dW, dW)


def test_conv_transpose_repr_and_parameters():
    W, b = np.zeros((4, 2, 3, 3)), np.zeros(2)
    layer = ConvTranspose2d(W, b, stride=2, padding=1, output_padding=1)
    assert layer.W is W and layer.b is b and ConvTranspose2d.decay_names == ("W",)
    assert repr(layer) == "ConvTranspose2d(4 -> 2, kernel=3x3, stride=2, padding=1, output_padding=1)"


@pytest.mark.parametrize("args, kwargs, match", [
    ((2, 4, 3), {"stride": 2, "output_padding": 2},
     "ConvTranspose2d: output_padding must be smaller than stride, got output_padding=2, stride=2"),
    ((2, 4, 3), {"output_padding": 1}, "output_padding must be smaller than stride, got output_padding=1, stride=1"),
    ((2, 4, 3), {"output_padding": -1}, "ConvTranspose2d: output_padding must be an integer >= 0, got -1"),
    ((2, 4, 3), {"stride": 0}, "ConvTranspose2d: stride must be an integer >= 1, got 0"),
    ((2, 4, 3), {"padding": -2}, "ConvTranspose2d: padding must be an integer >= 0, got -2"),
    ((0, 4, 3), {}, "ConvTranspose2d: in_channels must be an integer >= 1, got 0"),
    ((2, 4, (3, 3, 3)), {}, r"ConvTranspose2d: kernel_size must be an int or \(kH, kW\), got \(3, 3, 3\)"),
    ((2, 4, (3, 0)), {}, "ConvTranspose2d: kernel_size must be an integer >= 1, got 0"),
    ((2, 4, 3), {"dtype": np.int32}, "ConvTranspose2d: dtype must be float32 or float64"),
    ((np.zeros((2, 4, 3)), np.zeros(4)), {}, r"ConvTranspose2d: W must be 4-D \(in_channels, out_channels, kH, kW\)"),
    ((np.zeros((2, 4, 3, 3)), np.zeros(2)), {}, r"ConvTranspose2d: b must have shape \(4,\)"),
    ((np.zeros((2, 4, 3, 3)), np.zeros(4), 3), {}, "from arrays the kernel size is W's shape, got kernel_size=3"),
])
def test_conv_transpose_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvTranspose2d(*args, **kwargs)


@pytest.mark.parametrize("shape, match", [
    ((2, 5, 5), r"non-empty 4-D batch \(N, C, H, W\), got shape \(2, 5, 5\)"),
    ((0, 2, 5, 5), r"got shape \(0, 2, 5, 5\)"),
    ((1, 3, 5, 5), r"input has 3 channels, W \(2, 4, 3, 3\) expects 2"),
    ((1, 2, 1, 4), r"an input of 1x4 gives an output of -1x5; padding=2 crops"),
])
def test_conv_transpose_forward_rejects_bad_input(shape, match):
    layer = ConvTranspose2d(2, 4, 3, stride=2, padding=2, rng=0)
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2 -> 4.*" + match):
        layer.forward(np.zeros(shape))


def test_conv_transpose_refuses_an_empty_output():
    layer = ConvTranspose2d(1, 1, 1, padding=1, rng=0)  # 1x1 kernel cropped by 1 on each side
    with pytest.raises(ValueError, match=r"an input of 1x1 gives an output of -1x-1"):
        layer.output_shape((1, 1, 1))
    with pytest.raises(ValueError, match=r"expects \(1, H, W\) per sample, got input shape \(1, 3\)"):
        layer.output_shape((1, 3))


def test_conv_transpose_backward_rejects_wrong_dout_and_a_missing_forward():
    layer = ConvTranspose2d(1, 2, 2, stride=2, rng=0)
    with pytest.raises(BackwardBeforeForwardError, match="ConvTranspose2d.backward was called before"):
        layer.backward(np.zeros((1, 2, 4, 4)))
    layer.forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"ConvTranspose2d.backward: dout has shape \(1, 2, 3, 3\), "
                                         r"expected \(1, 2, 4, 4\)"):
        layer.backward(np.zeros((1, 2, 3, 3)))


def test_conv_transpose_in_a_sequential_decodes_what_a_convolution_encodes_and_gradient_checks():
    rng = np.random.default_rng(5)
    net = Sequential([Convolution(1, 2, 3, stride=2, pad=1), Relu(),
                      ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1), Affine(36, 3)],
                     input_shape=(1, 6, 6), init="he", rng=1)
    assert list(net.shapes.values()) == [(2, 3, 3), (2, 3, 3), (1, 6, 6), (3,)]
    assert net.params["W2"].shape == (2, 1, 3, 3) and net.params["b2"].shape == (1,)
    x, t = rng.standard_normal((3, 1, 6, 6)), rng.integers(0, 3, 3)
    assert np.isfinite(net.loss(x, t)) and net.gradient(x, t).keys() == net.params.keys()
    assert_gradients_close(*net.gradient_check(x, t))
