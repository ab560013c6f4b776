import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, Dropout
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient


def test_dropout_train_mode_zeroes_and_scales():
    layer = Dropout(0.5, rng=0)
    y = layer.forward(np.ones((200, 50)))
    kept = y != 0
    np.testing.assert_array_equal(y[kept], 2.0)  # survivors scaled by 1 / (1 - 0.5)
    assert 0.45 < kept.mean() < 0.55


def test_dropout_is_identity_at_eval():
    x = np.arange(6.0).reshape(2, 3)
    layer = Dropout(0.9, rng=0)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), np.ones((2, 3)))


def test_dropout_keeps_the_mean_in_expectation():
    layer = Dropout(0.3, rng=1)
    assert layer.forward(np.ones((1000, 100))).mean() == pytest.approx(1.0, abs=0.01)


def test_dropout_backward_uses_the_forward_mask():
    layer = Dropout(0.5, rng=2)
    y = layer.forward(np.ones((4, 5)))
    np.testing.assert_array_equal(layer.backward(np.full((4, 5), 3.0)), 3.0 * y)


@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 4)])
def test_dropout_backward_matches_numerical_with_fixed_rng(shape):
    rng = np.random.default_rng(0)
    analytic, numeric = check_layer_gradient(Dropout(0.4, rng=7), rng.standard_normal(shape), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_dropout_is_deterministic_under_a_seed():
    a = Dropout(0.5, rng=42).forward(np.ones((3, 4)))
    b = Dropout(0.5, rng=42).forward(np.ones((3, 4)))
    np.testing.assert_array_equal(a, b)


def test_dropout_backward_leaves_dout_unchanged():
    layer = Dropout(0.5, rng=0)
    layer.forward(np.ones((3, 4)))
    dout = np.arange(12.0).reshape(3, 4)
    layer.backward(dout)
    np.testing.assert_array_equal(dout, np.arange(12.0).reshape(3, 4))


def test_dropout_keeps_float32():
    layer = Dropout(0.5, rng=0)
    assert layer.forward(np.ones((2, 2), np.float32)).dtype == np.float32
    assert layer.backward(np.ones((2, 2), np.float32)).dtype == np.float32


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_rejects_ratio_outside_0_1(ratio):
    with pytest.raises(ValueError, match=r"Dropout: ratio must be in \[0, 1\)"):
        Dropout(ratio)


def test_dropout_rejects_bad_rng():
    with pytest.raises(ValueError, match=r"rng must be None, an int seed or a numpy.random.Generator, got str"):
        Dropout(0.5, rng="seed")


def test_dropout_backward_before_forward_says_so():
    with pytest.raises(BackwardBeforeForwardError, match="Dropout.backward"):
        Dropout(0.5).backward(np.ones((1, 1)))
