"""Upsample (nearest, integer factors): hand values, gradient checks, PyTorch's numbers (stored by
tests/data/make_conv_family_reference.py), bad arguments and inputs, inside a Sequential."""

from pathlib import Path

import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError, Convolution, Pooling, Relu
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.layers.upsample import Upsample
from bprop.networks import Sequential

REFERENCE = Path(__file__).parent / "data" / "conv_family_reference.npz"
X22 = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])


def reference(case):
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {k[len(case) + 1:]: data[k] for k in data.files if k.startswith(case + ".")}


def test_upsample_forward_hand_values():
    np.testing.assert_array_equal(Upsample(2).forward(X22),
                                  [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]])
    np.testing.assert_array_equal(Upsample((1, 3)).forward(X22), [[[[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]]])


def test_upsample_output_pixel_reads_the_input_at_floor_of_i_over_scale():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3, 4))
    y = Upsample((3, 2)).forward(x)
    assert y.shape == (2, 3, 9, 8)
    for i in range(9):
        for j in range(8):
            np.testing.assert_array_equal(y[:, :, i, j], x[:, :, i // 3, j // 2])


def test_upsample_backward_sums_each_block():
    layer = Upsample(2)
    layer.forward(X22)
    dout = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(layer.backward(dout),
                                  [[[[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]]])


@pytest.mark.parametrize("scale, x_shape", [(2, (2, 3, 3, 4)), ((2, 3), (1, 2, 2, 3)), ((3, 1), (2, 1, 2, 2)),
                                            (1, (1, 2, 2, 2))])
def test_upsample_backward_matches_numerical(scale, x_shape):
    rng = np.random.default_rng(sum(x_shape))
    analytic, numeric = check_layer_gradient(Upsample(scale), rng.standard_normal(x_shape), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("case", ["upsample2", "upsample23"])
def test_upsample_matches_pytorch(case):
    ref = reference(case)
    layer = Upsample(tuple(int(v) for v in ref["config"]))
    np.testing.assert_allclose(layer.forward(ref["x"]), ref["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(ref["dout"]), ref["dx"], rtol=1e-12, atol=1e-12)


def test_upsample_takes_an_integral_float_as_pytorch_does_and_reprs():
    layer = Upsample(2.0)
    assert layer.scale_factor == (2, 2) and all(type(f) is int for f in layer.scale_factor)
    assert repr(layer) == "Upsample(scale_factor=2, mode='nearest')"
    assert repr(Upsample([2, 3])) == "Upsample(scale_factor=(2, 3), mode='nearest')"
    assert Upsample((2, 3)).output_shape((4, 5, 6)) == (4, 10, 18)


def test_upsample_keeps_float32_and_has_no_parameters():
    layer = Upsample(2)
    y = layer.forward(np.ones((1, 1, 2, 2), np.float32))
    dx = layer.backward(np.ones((1, 1, 4, 4), np.float32))
    assert y.dtype == dx.dtype == np.float32
    assert layer.params() == {} and layer.grads() == {}


@pytest.mark.parametrize("kwargs, match", [
    ({"scale_factor": 1.5}, r"Upsample: scale_factor must be an integer >= 1 or a pair of them \(sh, sw\), got 1.5"),
    ({"scale_factor": 0}, "scale_factor must be an integer >= 1 .*got 0"),
    ({"scale_factor": -2}, "scale_factor must be an integer >= 1 .*got -2"),
    ({"scale_factor": (2, 0.5)}, r"got \(2, 0.5\)"),
    ({"scale_factor": (2, 2, 2)}, r"got \(2, 2, 2\)"),
    ({"scale_factor": True}, "got True"),
    ({"scale_factor": float("inf")}, "got inf"),
    ({"scale_factor": "2"}, "got '2'"),
    ({"scale_factor": 2, "mode": "bilinear"}, r"Upsample: mode must be one of \('nearest',\), got 'bilinear'"),
    ({"scale_factor": 2, "mode": "Nearest"}, "got 'Nearest'"),
])
def test_upsample_rejects_bad_scale_factor_and_mode(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Upsample(**kwargs)


@pytest.mark.parametrize("shape", [(2, 4, 4), (0, 1, 4, 4), (1, 1, 1, 4, 4)])
def test_upsample_rejects_input_that_is_not_a_nonempty_4d_batch(shape):
    with pytest.raises(ValueError, match=r"Upsample\(scale_factor=2.*non-empty 4-D batch \(N, C, H, W\), got shape"):
        Upsample(2).forward(np.zeros(shape))
    with pytest.raises(ValueError, match=r"expects \(C, H, W\) per sample, got input shape \(4, 4\)"):
        Upsample(2).output_shape((4, 4))


def test_upsample_backward_rejects_wrong_dout_and_a_missing_forward():
    layer = Upsample(2)
    with pytest.raises(BackwardBeforeForwardError, match="Upsample.backward was called before"):
        layer.backward(np.zeros((1, 1, 4, 4)))
    layer.forward(X22)
    with pytest.raises(ValueError, match=r"Upsample.backward: dout has shape \(1, 1, 2, 2\), expected \(1, 1, 4, 4\)"):
        layer.backward(np.zeros((1, 1, 2, 2)))


def test_upsample_in_a_sequential_trains_and_gradient_checks():
    rng = np.random.default_rng(7)
    net = Sequential([Convolution(1, 2, 3, pad=1), Relu(), Pooling(2, 2, stride=2), Upsample(2),
                      Convolution(2, 2, 3, pad=1), Affine(2 * 4 * 4, 3)], input_shape=(1, 4, 4), init="he", rng=3)
    assert net.shapes["Upsample1"] == (2, 4, 4)
    x, t = rng.standard_normal((3, 1, 4, 4)), rng.integers(0, 3, 3)
    assert np.isfinite(net.loss(x, t)) and net.gradient(x, t).keys() == net.params.keys()
    assert_gradients_close(*net.gradient_check(x, t))
