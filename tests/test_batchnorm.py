import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, BatchNormalization
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient


def make_bn(rng, d, **kw):
    return BatchNormalization(rng.standard_normal(d), rng.standard_normal(d), **kw)


def test_batchnorm_train_forward_hand_values():
    layer = BatchNormalization(np.array([2.0]), np.array([1.0]), eps=1e-12)
    y = layer.forward(np.array([[1.0], [3.0]]))
    # mean 2, biased variance 1: xhat = [-1, 1]
    np.testing.assert_allclose(y, [[-1.0], [3.0]], rtol=1e-10)


def test_batchnorm_running_statistics_update_and_eval():
    layer = BatchNormalization(np.ones(1), np.zeros(1), momentum=0.9, eps=1e-12)
    layer.forward(np.array([[1.0], [3.0]]))
    np.testing.assert_allclose(layer.running_mean, [0.9 * 0 + 0.1 * 2])
    np.testing.assert_allclose(layer.running_var, [0.9 * 1 + 0.1 * 1])
    y = layer.forward(np.array([[0.2]]), train=False)
    np.testing.assert_allclose(y, [[0.0]], atol=1e-12)  # (0.2 - 0.2) / sqrt(1.0)


def test_batchnorm_eval_does_not_change_running_statistics():
    layer = BatchNormalization(np.ones(2), np.zeros(2))
    layer.forward(np.random.default_rng(0).standard_normal((5, 2)), train=False)
    np.testing.assert_array_equal(layer.running_mean, 0)
    np.testing.assert_array_equal(layer.running_var, 1)


@pytest.mark.parametrize("shape", [(2, 3), (5, 4), (8, 1)])
def test_batchnorm_backward_matches_numerical_in_training(shape):
    rng = np.random.default_rng(shape[0])
    analytic, numeric = check_layer_gradient(make_bn(rng, shape[1]), rng.standard_normal(shape) * 2 + 1, rng=rng)
    assert_gradients_close(analytic, numeric)


def test_batchnorm_backward_matches_numerical_in_eval():
    rng = np.random.default_rng(4)
    layer = make_bn(rng, 3)
    layer.forward(rng.standard_normal((6, 3)))  # move the running stats off 0 / 1
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((4, 3)), rng=rng, train=False)
    assert_gradients_close(analytic, numeric)


def test_batchnorm_on_4d_input_normalises_each_channel():
    rng = np.random.default_rng(5)
    layer = BatchNormalization(np.ones(3), np.zeros(3))
    y = layer.forward(rng.standard_normal((4, 3, 2, 5)) * 3 + 7)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)


def test_batchnorm_backward_matches_numerical_on_4d_input():
    rng = np.random.default_rng(6)
    analytic, numeric = check_layer_gradient(make_bn(rng, 2), rng.standard_normal((2, 2, 3, 2)), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_batchnorm_backward_leaves_dout_unchanged_and_keeps_float32():
    layer = BatchNormalization(np.ones(3, np.float32), np.zeros(3, np.float32))
    y = layer.forward(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    dout = np.ones((4, 3), np.float32)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, 1)
    assert y.dtype == dx.dtype == layer.dgamma.dtype == layer.running_mean.dtype == np.float32


def test_batchnorm_rejects_single_sample_in_training():
    with pytest.raises(ValueError, match=r"at least 2 values per feature.*\(1, 3\)"):
        BatchNormalization(np.ones(3), np.zeros(3)).forward(np.ones((1, 3)))


def test_batchnorm_rejects_wrong_width():
    with pytest.raises(ValueError, match=r"BatchNormalization\(3.*\(N, 3\).*got shape \(2, 4\)"):
        BatchNormalization(np.ones(3), np.zeros(3)).forward(np.ones((2, 4)))


@pytest.mark.parametrize("kw, match", [
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1.0"),
    ({"momentum": -0.5}, r"momentum must be in \[0, 1\)"),
    ({"eps": 0.0}, r"eps must be > 0, got 0.0"),
])
def test_batchnorm_rejects_bad_hyperparameters(kw, match):
    with pytest.raises(ValueError, match=match):
        BatchNormalization(np.ones(3), np.zeros(3), **kw)


def test_batchnorm_backward_before_forward_says_so():
    with pytest.raises(BackwardBeforeForwardError, match="BatchNormalization.backward"):
        BatchNormalization(np.ones(3), np.zeros(3)).backward(np.ones((2, 3)))
