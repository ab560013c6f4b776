import importlib
import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, Pooling
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient

X4 = np.arange(16.0).reshape(1, 1, 4, 4)


def test_max_pooling_forward_hand_values():
    np.testing.assert_array_equal(Pooling(2, 2, stride=2).forward(X4), [[[[5, 7], [13, 15]]]])


def test_avg_pooling_forward_hand_values():
    np.testing.assert_array_equal(Pooling(2, 2, stride=2, mode="avg").forward(X4), [[[[2.5, 4.5], [10.5, 12.5]]]])


def test_max_pooling_overlapping_windows_hand_values():
    y = Pooling(3, 3, stride=1).forward(X4)
    np.testing.assert_array_equal(y, [[[[10, 11], [14, 15]]]])


def test_max_pooling_backward_routes_each_gradient_to_the_argmax():
    x = np.array([[[[1.0, 9.0, 2.0, 0.0],
                    [3.0, 4.0, 8.0, 5.0],
                    [7.0, 0.0, 1.0, 1.0],
                    [0.0, 6.0, 2.0, 3.0]]]])
    layer = Pooling(2, 2, stride=2)
    layer.forward(x)
    dx = layer.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[2, 0], expected[3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_max_pooling_ties_send_the_gradient_to_one_element():
    layer = Pooling(2, 2, stride=2)
    layer.forward(np.ones((1, 2, 4, 4)))
    dx = layer.backward(np.ones((1, 2, 2, 2)))
    windows = dx.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 2, 2, 4)
    np.testing.assert_array_equal(np.count_nonzero(windows, axis=-1), 1)
    assert dx.sum() == 8


def test_max_pooling_ties_go_to_the_first_maximum_in_row_major_order():
    # windows [[1, 3], [3, 0]] -> offset 1; [[5, 2], [5, 5]] -> offset 0; overlapping 3x3 below
    x = np.array([[[[1.0, 3.0, 5.0, 2.0], [3.0, 0.0, 5.0, 5.0]]]])
    layer = Pooling(2, 2, stride=2)
    np.testing.assert_array_equal(layer.forward(x), [[[[3.0, 5.0]]]])
    dx = layer.backward(np.array([[[[7.0, 9.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[0, 7, 9, 0], [0, 0, 0, 0]])
    x = np.zeros((1, 1, 4, 4))  # all tied: each 3x3 window's first pixel is its top-left one
    layer = Pooling(3, 3, stride=1)
    layer.forward(x)
    dx = layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])


def test_max_pooling_backward_is_the_same_for_either_memory_layout_of_dout():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 8, 8))
    layer = Pooling(2, 2, stride=2)
    layer.forward(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
    dout = rng.standard_normal((3, 4, 4, 4))
    channels_last = np.ascontiguousarray(dout.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(layer.backward(dout), layer.backward(channels_last))


def test_max_pooling_overlapping_windows_add_their_gradients():
    layer = Pooling(3, 3, stride=1)
    layer.forward(X4)
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((4, 4))
    expected[2:, 2:] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_avg_pooling_backward_spreads_the_gradient_evenly():
    layer = Pooling(2, 2, stride=2, mode="avg")
    layer.forward(X4)
    dx = layer.backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_max_pooling_padding_never_wins():
    x = -np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(Pooling(3, 3, stride=1, pad=1).forward(x), -1)


def test_avg_pooling_padding_counts_as_zeros():
    np.testing.assert_allclose(Pooling(3, 3, stride=1, pad=1, mode="avg").forward(np.ones((1, 1, 2, 2))), 4 / 9)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("x_shape, pool, stride, pad", [
    ((2, 3, 4, 6), (2, 2), 2, 0),   # the usual 2x2/2, non-square input
    ((2, 2, 5, 5), (3, 3), 1, 1),   # overlapping, padded
    ((1, 2, 7, 5), (3, 3), 2, 1),   # overlapping, stride 2, padded, non-square
    ((2, 1, 6, 5), (2, 3), 1, 0),   # non-square window
    ((1, 2, 8, 8), (2, 2), 3, 0),   # stride larger than the window
    ((2, 2, 3, 3), (3, 3), 1, 0),   # global pooling
])
def test_pooling_backward_matches_numerical(mode, x_shape, pool, stride, pad):
    rng = np.random.default_rng(sum(x_shape) + stride)
    layer = Pooling(*pool, stride=stride, pad=pad, mode=mode)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_backward_leaves_dout_unchanged_and_keeps_float32(mode):
    rng = np.random.default_rng(0)
    layer = Pooling(2, 2, stride=2, pad=1, mode=mode)
    x = rng.standard_normal((2, 3, 4, 6), dtype=np.float32)
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape, dtype=np.float32)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy)
    assert y.dtype == dx.dtype == np.float32 and dx.shape == x.shape
    assert not np.shares_memory(dx, dout)


def test_pooling_repr():
    assert repr(Pooling(2, 2, stride=2)) == "Pooling(max, kernel=2x2, stride=2, pad=0)"
    assert repr(Pooling(3, 2, pad=1, mode="avg")) == "Pooling(avg, kernel=3x2, stride=1, pad=1)"


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_of_an_odd_map_drops_the_last_row_and_column_and_matches_numerical(mode):
    # 7x7 with a 2x2 window, stride 2: 3x3 as in PyTorch; row and column 6 get no gradient.
    rng = np.random.default_rng(5)
    layer = Pooling(2, 2, stride=2, mode=mode)
    x = rng.standard_normal((2, 3, 7, 7))
    assert layer.forward(x).shape == (2, 3, 3, 3)
    assert layer.output_shape((3, 7, 7)) == (3, 3, 3)
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert np.all(analytic["x"][:, :, 6, :] == 0) and np.all(analytic["x"][:, :, :, 6] == 0)
    assert_gradients_close(analytic, numeric)


def test_pooling_rejects_window_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"window 3x3 is larger than the padded input 2x5.*\(1, 2, 5\) per sample"):
        Pooling(3, 3).forward(np.zeros((1, 1, 2, 5)))


@pytest.mark.parametrize("shape", [(4, 4), (1, 4, 4), (1, 1, 1, 4, 4), (0, 1, 4, 4)])
def test_pooling_rejects_input_that_is_not_a_nonempty_4d_batch(shape):
    with pytest.raises(ValueError, match=r"non-empty 4-D batch \(N, C, H, W\), got shape"):
        Pooling(2, 2, stride=2).forward(np.zeros(shape))


@pytest.mark.parametrize("args, kw, match", [
    ((0, 2), {}, "pool_h must be an integer >= 1, got 0"),
    ((2, 2.0), {}, "pool_w must be an integer >= 1, got 2.0"),
    ((2, 2), {"stride": 0}, "stride must be an integer >= 1, got 0"),
    ((2, 2), {"pad": -1}, "pad must be an integer >= 0, got -1"),
    ((2, 3), {"pad": 2}, r"pad=2 must be smaller than the window 2x3"),
    ((2, 2), {"mode": "min"}, r"mode must be one of \('max', 'avg'\), got 'min'"),
])
def test_pooling_rejects_bad_arguments(args, kw, match):
    with pytest.raises(ValueError, match=match):
        Pooling(*args, **kw)


def test_pooling_backward_before_forward_and_wrong_dout():
    layer = Pooling(2, 2, stride=2)
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.zeros((1, 1, 2, 2)))
    layer.forward(X4)
    with pytest.raises(ValueError, match=r"dout has shape \(1, 1, 4, 4\), expected \(1, 1, 2, 2\)"):
        layer.backward(np.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize("kw", [dict(pool_h=2, pool_w=2, stride=2), dict(pool_h=3, pool_w=3, stride=2, pad=1),
                                dict(pool_h=2, pool_w=2, stride=2, mode="avg")])
def test_pooling_in_chunks_of_the_batch_matches_numerical_and_the_whole_batch(monkeypatch, kw):
    import bprop.layers.convolution as conv_module
    im2col_module = importlib.import_module("bprop.layers.im2col")  # the module: bprop.layers.im2col is also a function

    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 3, 7, 7))
    whole = Pooling(**kw)
    y = whole.forward(x)
    dout = rng.standard_normal(y.shape)
    dx = whole.backward(dout)
    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1)  # every sample its own chunk
    layer = Pooling(**kw)
    assert len(layer.chunks(x)) == 5
    np.testing.assert_array_equal(layer.forward(x), y)
    np.testing.assert_array_equal(layer.backward(dout), dx)
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert_gradients_close(analytic, numeric)
