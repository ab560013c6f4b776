"""AdaptiveAvgPool2d and GlobalAvgPool: PyTorch's bins, hand values, gradient checks, PyTorch's
numbers (stored by tests/data/make_conv_family_reference.py), bad inputs, inside a Sequential."""

from pathlib import Path

import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError, Convolution, Pooling, Relu
from bprop.layers.global_pool import AdaptiveAvgPool2d, GlobalAvgPool, adaptive_bins, averaging_matrix
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import Sequential

REFERENCE = Path(__file__).parent / "data" / "conv_family_reference.npz"
X44 = np.arange(16.0).reshape(1, 1, 4, 4)


def reference(case):
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {k[len(case) + 1:]: data[k] for k in data.files if k.startswith(case + ".")}


@pytest.mark.parametrize("size, out, bins", [
    (7, 3, [(0, 3), (2, 5), (4, 7)]),            # floor(i*7/3), ceil((i+1)*7/3): overlapping by one
    (6, 3, [(0, 2), (2, 4), (4, 6)]),            # divides: disjoint, equal bins
    (3, 4, [(0, 1), (0, 2), (1, 3), (2, 3)]),    # more bins than elements
    (5, 1, [(0, 5)]),
])
def test_adaptive_bins_follow_pytorch_floor_and_ceil(size, out, bins):
    start, end = adaptive_bins(size, out)
    assert list(zip(start.tolist(), end.tolist())) == bins


def test_averaging_matrix_rows_are_the_bin_means():
    np.testing.assert_allclose(averaging_matrix(7, 3, np.float64),
                               [[1 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0], [0, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0],
                                [0, 0, 0, 0, 1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


def test_adaptive_avg_pool_forward_hand_values():
    np.testing.assert_allclose(AdaptiveAvgPool2d(1).forward(X44), [[[[7.5]]]], rtol=1e-15)
    np.testing.assert_allclose(AdaptiveAvgPool2d(2).forward(X44), [[[[2.5, 4.5], [10.5, 12.5]]]], rtol=1e-15)
    # rows in bins (0, 2), (1, 3), (2, 4); columns in (0, 2), (2, 4)
    np.testing.assert_allclose(AdaptiveAvgPool2d((3, 2)).forward(X44),
                               [[[[2.5, 4.5], [6.5, 8.5], [10.5, 12.5]]]], rtol=1e-15)
    # None keeps the columns: the mean of each column
    np.testing.assert_allclose(AdaptiveAvgPool2d((1, None)).forward(X44), [[[[6, 7, 8, 9]]]], rtol=1e-15)


def test_adaptive_avg_pool_backward_hand_values():
    layer = AdaptiveAvgPool2d((3, 2))
    layer.forward(X44)
    dx = layer.backward(np.ones((1, 1, 3, 2)) * 4.0)
    # each bin is 2x2, so each of its pixels gets 4 / 4 = 1; the middle rows are in two bins
    np.testing.assert_allclose(dx, [[[[1, 1, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2], [1, 1, 1, 1]]]], rtol=1e-15)


def test_adaptive_avg_pool_equals_avg_pooling_when_the_output_divides_the_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 9))
    np.testing.assert_allclose(AdaptiveAvgPool2d((2, 3)).forward(x), Pooling(3, 3, stride=3, mode="avg").forward(x),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("output_size, x_shape", [
    (1, (2, 3, 4, 5)),
    ((2, 2), (2, 2, 4, 4)),
    ((3, 2), (2, 2, 7, 5)),
    ((5, 4), (1, 2, 3, 2)),      # larger than the input
    ((None, 2), (2, 1, 3, 5)),
    ((1, 1), (3, 2, 1, 1)),
])
def test_adaptive_avg_pool_backward_matches_numerical(output_size, x_shape):
    rng = np.random.default_rng(sum(x_shape))
    analytic, numeric = check_layer_gradient(AdaptiveAvgPool2d(output_size), rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("case", ["adaptive1", "adaptive32", "adaptive_up"])
def test_adaptive_avg_pool_matches_pytorch(case):
    ref = reference(case)
    oh, ow = (None if v < 0 else int(v) for v in ref["config"])
    layer = AdaptiveAvgPool2d((oh, ow))
    np.testing.assert_allclose(layer.forward(ref["x"]), ref["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(ref["dout"]), ref["dx"], rtol=1e-12, atol=1e-12)


def test_adaptive_avg_pool_output_shape_and_repr():
    assert AdaptiveAvgPool2d(1).output_shape((8, 5, 3)) == (8, 1, 1)
    assert AdaptiveAvgPool2d((None, 2)).output_shape((8, 5, 3)) == (8, 5, 2)
    assert repr(AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
    assert repr(AdaptiveAvgPool2d((3, None))) == "AdaptiveAvgPool2d(output_size=(3, None))"
    assert AdaptiveAvgPool2d.param_names == ()


def test_adaptive_avg_pool_keeps_float32_and_averages_integers_as_float64():
    y = AdaptiveAvgPool2d(2).forward(np.ones((1, 2, 4, 4), np.float32))
    assert y.dtype == np.float32
    y = AdaptiveAvgPool2d(1).forward(np.arange(4).reshape(1, 1, 2, 2))
    assert y.dtype == np.float64 and y[0, 0, 0, 0] == 1.5


@pytest.mark.parametrize("output_size, match", [
    (0, "AdaptiveAvgPool2d: output_size must be an integer >= 1, got 0"),
    (-2, "output_size must be an integer >= 1, got -2"),
    (1.5, "output_size must be an integer >= 1, got 1.5"),
    (True, "output_size must be an integer >= 1, got True"),
    (None, "output_size must be an integer >= 1, got None"),
    ((2, 0), "output_size must be an integer >= 1, got 0"),
    ((2, 2, 2), r"AdaptiveAvgPool2d: output_size must be an int or \(OH, OW\), got \(2, 2, 2\)"),
])
def test_adaptive_avg_pool_rejects_bad_output_size(output_size, match):
    with pytest.raises(ValueError, match=match):
        AdaptiveAvgPool2d(output_size)


@pytest.mark.parametrize("layer", [AdaptiveAvgPool2d(2), GlobalAvgPool()], ids=repr)
def test_pools_reject_input_that_is_not_a_nonempty_4d_batch(layer):
    for shape in [(2, 4, 4), (0, 1, 4, 4), (1, 1, 1, 4, 4)]:
        with pytest.raises(ValueError, match=rf"{type(layer).__name__}\(.*non-empty 4-D batch \(N, C, H, W\), "
                                             rf"got shape \({', '.join(map(str, shape))}\)"):
            layer.forward(np.zeros(shape))
    with pytest.raises(ValueError, match=r"expects \(C, H, W\) per sample, got input shape \(4, 4\)"):
        layer.output_shape((4, 4))


def test_adaptive_avg_pool_backward_rejects_wrong_dout_and_a_missing_forward():
    layer = AdaptiveAvgPool2d(2)
    with pytest.raises(BackwardBeforeForwardError, match="AdaptiveAvgPool2d.backward was called before"):
        layer.backward(np.zeros((1, 1, 2, 2)))
    layer.forward(X44)
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d.backward: dout has shape \(1, 1, 1, 1\), "
                                         r"expected \(1, 1, 2, 2\)"):
        layer.backward(np.zeros((1, 1, 1, 1)))


# --- GlobalAvgPool: (N, C) for an Affine ------------------------------------------

def test_global_avg_pool_gives_each_channel_mean_as_n_by_c():
    x = np.zeros((2, 3, 4, 4))
    x[0, 0] = x[0, 2] = X44[0, 0]          # mean 7.5
    x[1, 0] = x[1, 2] = 2 * X44[0, 0] + 1  # mean 16
    layer = GlobalAvgPool()
    y = layer.forward(x)
    assert y.shape == (2, 3) and layer.output_shape((3, 4, 4)) == (3,)
    np.testing.assert_allclose(y, [[7.5, 0, 7.5], [16, 0, 16]], rtol=1e-15)
    dx = layer.backward(np.array([[16.0, 32.0, 0.0], [1.6, 0.0, 0.0]]))
    np.testing.assert_allclose(dx[0, 0], 1.0, rtol=1e-15)   # dout / (H*W)
    np.testing.assert_allclose(dx[0, 1], 2.0, rtol=1e-15)
    np.testing.assert_allclose(dx[1, 0], 0.1, rtol=1e-15)
    assert repr(layer) == "GlobalAvgPool()"


def test_global_avg_pool_is_adaptive_avg_pool_of_one_flattened():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3, 5))
    np.testing.assert_array_equal(GlobalAvgPool().forward(x), AdaptiveAvgPool2d(1).forward(x).reshape(2, 4))


@pytest.mark.parametrize("x_shape", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 2, 2, 1)])
def test_global_avg_pool_backward_matches_numerical(x_shape):
    rng = np.random.default_rng(sum(x_shape))
    analytic, numeric = check_layer_gradient(GlobalAvgPool(), rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_global_avg_pool_backward_rejects_wrong_dout():
    layer = GlobalAvgPool()
    with pytest.raises(BackwardBeforeForwardError, match="GlobalAvgPool.backward was called before"):
        layer.backward(np.zeros((1, 1)))
    layer.forward(X44)
    with pytest.raises(ValueError, match=r"GlobalAvgPool.backward: dout has shape \(1, 1, 1, 1\), expected \(1, 1\)"):
        layer.backward(np.zeros((1, 1, 1, 1)))


# --- inside a network -----------------------------------------------------------

@pytest.mark.parametrize("pool, features", [(GlobalAvgPool(), 4), (AdaptiveAvgPool2d(1), 4),
                                            (AdaptiveAvgPool2d((2, 3)), 24)], ids=repr)
def test_pools_in_a_sequential_train_and_gradient_check(pool, features):
    rng = np.random.default_rng(6)
    net = Sequential([Convolution(2, 4, 3), Relu(), pool, Affine(features, 3)], input_shape=(2, 5, 6),
                     init="he", rng=2)
    assert net.shapes["Affine1"] == (3,) and int(np.prod(list(net.shapes.values())[2])) == features
    x, t = rng.standard_normal((3, 2, 5, 6)), rng.integers(0, 3, 3)
    assert np.isfinite(net.loss(x, t)) and net.gradient(x, t).keys() == net.params.keys()
    assert_gradients_close(*net.gradient_check(x, t))
