import importlib
import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, Convolution
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient, check_without_input_grad


def make_conv(rng, fn, c, fh, fw, **kw):
    return Convolution(rng.standard_normal((fn, c, fh, fw)), rng.standard_normal(fn), **kw)


def test_convolution_forward_hand_values():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    layer = Convolution(np.ones((1, 1, 2, 2)), np.array([1.0]))
    # each output is 1 + the sum of a 2x2 block of [[0 1 2] [3 4 5] [6 7 8]]
    np.testing.assert_array_equal(layer.forward(x), [[[[9, 13], [21, 25]]]])


def test_convolution_forward_hand_values_with_stride_and_pad():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    layer = Convolution(np.ones((1, 1, 3, 3)), np.zeros(1), stride=2, pad=1)
    # windows centred on the four corners see the 2x2 blocks next to them
    np.testing.assert_array_equal(layer.forward(x), [[[[8, 12], [20, 24]]]])


def test_convolution_forward_hand_values_over_channels_and_filters():
    x = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 10.0)])[None]  # (1, 2, 2, 2)
    W = np.zeros((2, 2, 1, 1))
    W[0, 0] = 1.0   # filter 0 copies channel 0
    W[1, 0] = -1.0  # filter 1 is channel 1 minus channel 0
    W[1, 1] = 1.0
    y = Convolution(W, np.array([0.0, 0.5])).forward(x)
    assert y.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(y[0, 0], 1.0)
    np.testing.assert_array_equal(y[0, 1], 9.5)


def test_convolution_backward_hand_values():
    layer = Convolution(np.ones((1, 1, 2, 2)), np.zeros(1))
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    layer.forward(x)
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    # every pixel receives one unit per window that covers it
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(layer.db, [4])
    np.testing.assert_array_equal(layer.dW[0, 0], [[8, 12], [20, 24]])  # sums of the 2x2 blocks


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 0),
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((2, 2, 5, 7), (3, 2, 3, 3), 2, 1),    # non-square input, stride 2
    ((1, 2, 6, 4), (2, 2, 2, 2), 2, 0),    # disjoint windows
    ((2, 1, 7, 4), (2, 1, 3, 2), 2, 0),    # non-square kernel
    ((1, 2, 8, 8), (2, 2, 2, 2), 3, 0),    # stride larger than the kernel
    ((2, 2, 4, 3), (3, 2, 4, 3), 1, 0),    # kernel as large as the input: 1x1 output
    ((1, 3, 3, 3), (2, 3, 1, 1), 1, 2),    # 1x1 kernel, pad larger than it
    ((2, 2, 6, 6), (2, 2, 5, 5), 1, 2),    # 5x5 'same' convolution
])
def test_convolution_backward_matches_numerical(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(sum(x_shape) + stride + pad)
    layer = Convolution(rng.standard_normal(w_shape), rng.standard_normal(w_shape[0]), stride=stride, pad=pad)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_convolution_output_size_formula():
    rng = np.random.default_rng(0)
    layer = make_conv(rng, 5, 3, 3, 5, stride=2, pad=1)
    y = layer.forward(rng.standard_normal((4, 3, 9, 13)))
    assert y.shape == (4, 5, (9 + 2 - 3) // 2 + 1, (13 + 2 - 5) // 2 + 1)


def test_convolution_backward_leaves_dout_unchanged_and_returns_a_new_array():
    rng = np.random.default_rng(1)
    layer = make_conv(rng, 2, 3, 3, 3, pad=1)
    x = rng.standard_normal((2, 3, 4, 4))
    x_copy = x.copy()
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy)
    np.testing.assert_array_equal(x, x_copy)
    assert not np.shares_memory(dx, dout) and not np.shares_memory(dx, x)


def test_convolution_keeps_float32_throughout():
    rng = np.random.default_rng(2)
    layer = Convolution(rng.standard_normal((2, 3, 3, 3), dtype=np.float32), np.zeros(2, np.float32), pad=1)
    y = layer.forward(rng.standard_normal((2, 3, 4, 4), dtype=np.float32))
    dx = layer.backward(np.ones(y.shape, np.float32))
    assert y.dtype == dx.dtype == layer.dW.dtype == layer.db.dtype == np.float32


def test_convolution_without_input_grad_returns_none_but_sets_parameter_gradients():
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2)
    x = rng.standard_normal((2, 1, 5, 5))
    check_without_input_grad(Convolution(W, b), Convolution(W, b, input_grad=False), x,
                             rng.standard_normal((2, 2, 3, 3)))


def test_convolution_references_its_parameters():
    W, b = np.zeros((1, 1, 2, 2)), np.zeros(1)
    layer = Convolution(W, b)
    W += 1.0  # an optimizer's in-place step
    np.testing.assert_array_equal(layer.forward(np.ones((1, 1, 2, 2))), [[[[4.0]]]])
    assert layer.W is W and layer.b is b


def test_convolution_repr():
    layer = Convolution(np.zeros((30, 1, 5, 5)), np.zeros(30))
    assert repr(layer) == "Convolution(1 -> 30, kernel=5x5, stride=1, pad=0)"
    assert repr(Convolution(np.zeros((8, 3, 3, 2)), np.zeros(8), stride=2, pad=1)) == \
        "Convolution(3 -> 8, kernel=3x2, stride=2, pad=1)"


def test_convolution_rejects_wrong_channel_count():
    layer = Convolution(np.zeros((4, 3, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"Convolution\(3 -> 4.*2 channels.*\(1, 2, 5, 5\).*\(4, 3, 3, 3\)"):
        layer.forward(np.zeros((1, 2, 5, 5)))


def test_convolution_rejects_kernel_larger_than_padded_input():
    layer = Convolution(np.zeros((1, 1, 5, 5)), np.zeros(1), pad=1)
    with pytest.raises(ValueError, match=r"window 5x5 is larger than the padded input 4x6.*\(1, 2, 4\) per sample"):
        layer.forward(np.zeros((1, 1, 2, 4)))


def test_convolution_output_size_follows_pytorch_when_the_stride_leaves_pixels_over():
    # 28x28, 5x5, stride 2: (28 - 5) // 2 + 1 = 12 (PyTorch's size); the last row and
    # column no window covers get a zero gradient.
    rng = np.random.default_rng(3)
    layer = Convolution(rng.standard_normal((2, 1, 5, 5)), np.zeros(2), stride=2)
    x = rng.standard_normal((2, 1, 28, 28))
    assert layer.forward(x).shape == (2, 2, 12, 12)
    assert layer.output_shape((1, 28, 28)) == (2, 12, 12)
    dx = layer.backward(np.ones((2, 2, 12, 12)))
    assert np.all(dx[:, :, 27, :] == 0) and np.all(dx[:, :, :, 27] == 0)
    assert np.any(dx[:, :, 26, :] != 0)


def test_convolution_stride_two_with_uncovered_pixels_matches_numerical():
    rng = np.random.default_rng(4)
    layer = Convolution(rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3), stride=2, pad=0)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((2, 2, 8, 7)), rng=rng)
    assert analytic["x"].shape == (2, 2, 8, 7)
    assert_gradients_close(analytic, numeric)


def test_convolution_from_sizes_draws_he_weights_and_zero_bias():
    layer = Convolution(3, 16, 3, stride=2, pad=1, rng=0, dtype=np.float32)
    assert layer.W.shape == (16, 3, 3, 3) and layer.W.dtype == np.float32
    assert (layer.stride, layer.pad, layer.fan_in) == (2, 1, 27)
    assert np.all(layer.b == 0)
    expected = np.random.default_rng(0).standard_normal((16, 3, 3, 3), dtype=np.float32) * np.float32(
        np.sqrt(2 / 27))
    np.testing.assert_array_equal(layer.W, expected)
    assert Convolution(1, 2, (5, 3)).W.shape == (2, 1, 5, 3)


@pytest.mark.parametrize("args, kwargs, match", [
    ((0, 4, 3), {}, "in_channels must be an integer >= 1, got 0"),
    ((1, 4, 0), {}, "kernel_size must be an integer >= 1, got 0"),
    ((1, 4, (3, 3, 3)), {}, r"kernel_size must be an int or \(FH, FW\)"),
    ((1, 4, 3), {"init": "foo"}, "unknown name 'foo'"),
    ((1, 4, 3), {"dtype": np.int32}, "dtype must be float32 or float64"),
])
def test_convolution_from_bad_sizes_raises(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Convolution(*args, **kwargs)


def test_convolution_output_shape_refuses_wrong_channels():
    with pytest.raises(ValueError, match=r"Convolution\(3 -> 4.*expects \(3, H, W\) per sample, got input shape \(1, 8, 8\)"):
        Convolution(3, 4, 3).output_shape((1, 8, 8))


@pytest.mark.parametrize("shape", [(1, 5, 5), (5, 5), (1, 1, 1, 5, 5), (0, 1, 5, 5)])
def test_convolution_rejects_input_that_is_not_a_nonempty_4d_batch(shape):
    layer = Convolution(np.zeros((1, 1, 3, 3)), np.zeros(1))
    with pytest.raises(ValueError, match=r"non-empty 4-D batch \(N, C, H, W\), got shape"):
        layer.forward(np.zeros(shape))


@pytest.mark.parametrize("kw, match", [
    ({"stride": 0}, "stride must be an integer >= 1, got 0"),
    ({"stride": 1.5}, "stride must be an integer >= 1, got 1.5"),
    ({"pad": -1}, "pad must be an integer >= 0, got -1"),
])
def test_convolution_rejects_bad_stride_or_pad(kw, match):
    with pytest.raises(ValueError, match=match):
        Convolution(np.zeros((1, 1, 3, 3)), np.zeros(1), **kw)


@pytest.mark.parametrize("W, b, match", [
    (np.zeros((1, 3, 3)), np.zeros(1), r"W must be 4-D \(FN, C, FH, FW\), got shape \(1, 3, 3\)"),
    (np.zeros((2, 1, 3, 3)), np.zeros(3), r"b must have shape \(2,\)"),
    (np.zeros((2, 1, 3, 3)), np.zeros(2, np.float32), "share a dtype"),
])
def test_convolution_rejects_bad_parameters(W, b, match):
    with pytest.raises(ValueError, match=match):
        Convolution(W, b)


def test_convolution_backward_before_forward_and_wrong_dout():
    layer = Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2))
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.zeros((1, 2, 1, 1)))
    layer.forward(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"dout has shape \(1, 2, 2, 2\), expected \(1, 2, 1, 1\)"):
        layer.backward(np.zeros((1, 2, 2, 2)))


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [
    ((5, 3, 6, 6), (4, 3, 3, 3), 1, 1),    # stride 1: dx as the flipped-filter convolution
    ((5, 2, 7, 6), (3, 2, 3, 3), 2, 1),    # stride 2: dx one GEMM per filter offset
    ((4, 3, 3, 3), (2, 3, 1, 1), 1, 2),    # pad larger than kernel - 1: the offset path too
    ((3, 2, 8, 8), (2, 2, 5, 5), 1, 2),    # 5x5 'same'
])
def test_convolution_in_chunks_of_the_batch_matches_numerical(monkeypatch, x_shape, w_shape, stride, pad):
    # Tiny limits: every sample is its own chunk, unrolled again in backward, as the big layers run.
    import bprop.layers.convolution as conv_module
    im2col_module = importlib.import_module("bprop.layers.im2col")  # the module: bprop.layers.im2col is also a function

    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_module, "KEEP_COL_BYTES", 0)
    rng = np.random.default_rng(sum(x_shape) + 7 * stride + pad)
    layer = Convolution(rng.standard_normal(w_shape), rng.standard_normal(w_shape[0]), stride=stride, pad=pad,
                        algorithm="im2col")  # the im2col path's chunks and kept matrix
    x = rng.standard_normal(x_shape)
    assert len(layer.chunks(x_shape[0], layer.output_shape(x_shape[1:])[1:], x.dtype)) == x_shape[0]
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert_gradients_close(analytic, numeric)
    assert layer._unrolled.kept is None  # nothing of the size of im2col kept between forward and backward
    # and the chunked results equal the whole-batch ones
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    dx, dW, db = layer.backward(dout), layer.dW.copy(), layer.db.copy()
    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1 << 30)
    monkeypatch.setattr(conv_module, "KEEP_COL_BYTES", 1 << 30)
    whole = Convolution(layer.W, layer.b, stride=stride, pad=pad, algorithm="im2col")
    np.testing.assert_allclose(whole.forward(x), y, rtol=1e-12, atol=1e-12)
    assert whole._unrolled.kept is not None
    np.testing.assert_allclose(whole.backward(dout), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole.dW, dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole.db, db, rtol=1e-12, atol=1e-12)


def test_the_explicit_signature_takes_the_textbook_positional_form_and_the_pytorch_form():
    W, b = np.zeros((2, 1, 3, 3)), np.zeros(2)
    for layer in (Convolution(W, b, 2, 1), Convolution(W, b, stride=2, pad=1), Convolution(W, b, 2, pad=1)):
        assert (layer.stride, layer.pad, layer.W.shape) == (2, 1, (2, 1, 3, 3))
    assert (Convolution(W, b).stride, Convolution(W, b).pad) == (1, 0)
    sized = Convolution(1, 2, 3, 2, 1, rng=0)
    assert (sized.stride, sized.pad, sized.W.shape) == (2, 1, (2, 1, 3, 3))
    with pytest.raises(ValueError, match="from arrays, give W, b, stride, pad"):
        Convolution(W, b, 2, 1, 1)
    with pytest.raises(ValueError, match="from sizes, give in_channels, out_channels and kernel_size"):
        Convolution(1, 2)


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [
    ((5, 2, 6, 7), (3, 2, 3, 3), 1, 1),    # stride 1: dx through the flipped filters
    ((5, 3, 7, 6), (4, 3, 3, 2), 2, 1),    # stride 2: dx through col2im_dot
])
def test_chunked_col_computes_the_im2col_formulas_over_uneven_chunks(keep, x_shape, w_shape, stride, pad):
    from bprop.layers.conv_chunks import ChunkedCol, filters_as_columns
    from bprop.layers.im2col import col2im, im2col

    rng = np.random.default_rng(11 + stride)
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    n, fn, (fh, fw) = x_shape[0], w_shape[0], w_shape[2:]
    oh = (x_shape[2] + 2 * pad - fh) // stride + 1
    ow = (x_shape[3] + 2 * pad - fw) // stride + 1
    chunks = [slice(0, 2), slice(2, 3), slice(3, 5)]
    cols = ChunkedCol(x, (fh, fw), (oh, ow), stride, pad, chunks, keep, x.dtype)
    y = cols.affine(W, b)
    col = im2col(x, fh, fw, stride, pad)
    w_col_t = filters_as_columns(W)
    assert (cols.kept is not None) == keep
    if keep:
        np.testing.assert_array_equal(cols.kept, col)
    np.testing.assert_allclose(y, (col @ w_col_t + b).reshape(n, oh, ow, fn).transpose(0, 3, 1, 2),
                               rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(y.shape)
    d = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
    dW, db, dx = cols.gradients(dout, W)
    np.testing.assert_allclose(dW, (d.T @ col).reshape(fn, fh, fw, -1).transpose(0, 3, 1, 2),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, col2im(d @ w_col_t.T, x_shape, fh, fw, stride, pad), rtol=1e-12, atol=1e-12)
    assert cols.gradients(dout, W, input_grad=False)[2] is None
