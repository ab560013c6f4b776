import warnings

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, IdentityWithLoss, SoftmaxWithLoss, numerical_gradient
from bprop.layers.gradcheck import assert_gradients_close


def test_softmax_with_loss_hand_values():
    layer = SoftmaxWithLoss()
    x = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])
    loss = layer.forward(x, np.array([1, 0]))
    assert loss == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2)
    np.testing.assert_allclose(layer.backward(), [[0.25 / 2, -0.25 / 2], [-0.5 / 2, 0.5 / 2]])


@pytest.mark.parametrize("one_hot", [False, True], ids=["index", "one-hot"])
@pytest.mark.parametrize("n, c", [(1, 3), (4, 5), (7, 2)])
def test_softmax_with_loss_backward_matches_numerical(one_hot, n, c):
    rng = np.random.default_rng(n * 10 + c)
    x = rng.standard_normal((n, c)) * 3
    t = rng.integers(0, c, n)
    if one_hot:
        t = np.eye(c)[t]
    layer = SoftmaxWithLoss()
    dout = 1.7
    layer.forward(x, t)
    dx = layer.backward(dout)
    numeric = numerical_gradient(lambda: dout * layer.forward(x, t), x, h=1e-6)
    assert_gradients_close({"x": dx}, {"x": numeric})


def test_softmax_with_loss_same_result_for_both_label_formats():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 4, 6)
    a, b = SoftmaxWithLoss(), SoftmaxWithLoss()
    assert a.forward(x, t) == pytest.approx(b.forward(x, np.eye(4)[t]), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14)


def test_softmax_with_loss_logits_of_1000_give_finite_loss_and_exact_gradient():
    layer = SoftmaxWithLoss()
    x = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = layer.forward(x, np.array([1, 1]))
        dx = layer.backward()
    assert loss == pytest.approx(1000.0)  # (2000 + 0) / 2
    np.testing.assert_array_equal(dx, [[0.5, -0.5], [0.0, 0.0]])


def test_softmax_with_loss_keeps_float32():
    layer = SoftmaxWithLoss()
    layer.forward(np.zeros((2, 3), np.float32), np.array([0, 1]))
    assert layer.backward().dtype == np.float32


def test_softmax_with_loss_backward_returns_new_array():
    layer = SoftmaxWithLoss()
    layer.forward(np.zeros((2, 3)), np.array([0, 1]))
    dx1 = layer.backward()
    dx2 = layer.backward()
    np.testing.assert_array_equal(dx1, dx2)  # the cache was not modified
    assert dx1 is not layer.y


@pytest.mark.parametrize("t, match", [
    (np.array([0, 1, 2]), r"SoftmaxWithLoss: 3 labels for a batch of 2 samples"),
    (np.array([0, 5]), r"SoftmaxWithLoss: label 5 is outside \[0, 3\)"),
    (np.array([0.0, 1.0]), r"SoftmaxWithLoss: integer class labels expected"),
    (np.eye(4)[:2], r"SoftmaxWithLoss: one-hot targets have width 4, expected 3"),
    (np.eye(3), r"SoftmaxWithLoss: 3 target rows for a batch of 2"),
])
def test_softmax_with_loss_rejects_bad_labels(t, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), t)


@pytest.mark.parametrize("row, why", [
    ([5.0, 5.0, 5.0], r"it holds 5, outside \[0, 1\]"),
    ([-0.5, 1.0, 0.5], r"it holds -0\.5, outside \[0, 1\]"),
    ([0.2, 0.2, 0.1], r"it sums to 0\.5, not 1"),
    ([0.0, 0.0, 0.0], r"it sums to 0, not 1"),
    ([1.0, 1.0, 0.0], r"it sums to 2, not 1"),
    ([np.nan, 1.0, 0.0], r"it holds nan, outside \[0, 1\]"),
], ids=["fives", "negative", "sums-to-half", "zeros", "two-hot", "nan"])
def test_softmax_with_loss_refuses_float_targets_that_are_not_probability_rows(row, why):
    t = np.array([[0.0, 1.0, 0.0], row, [1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss: target row 1 is neither one-hot nor a "
                                         r"probability row .*: " + why):
        SoftmaxWithLoss().forward(np.zeros((3, 3)), t)


def test_softmax_with_loss_refuses_an_integer_two_hot_row():
    t = np.array([[0, 1, 0], [0, 1, 1]])
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss: target row 1 .*it sums to 2, not 1; row 1 is \[0, 1, 1\]"):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), t)


def test_softmax_with_loss_accepts_probability_rows_and_float32_rounding():
    rng = np.random.default_rng(3)
    soft = rng.random((4, 7)).astype(np.float32)
    soft /= soft.sum(axis=1, keepdims=True)  # sums off by float32 rounding
    smoothed = np.full((2, 7), 0.1 / 7) + 0.9 * np.eye(7)[[2, 5]]
    for t in (soft, smoothed, np.eye(7, dtype=bool)[[0, 6]]):
        loss = SoftmaxWithLoss().forward(rng.standard_normal((len(t), 7)), t)
        assert np.isfinite(loss) and loss > 0


@pytest.mark.parametrize("t", [np.eye(3)[[0, 2]], np.eye(3, dtype=np.int64)[[0, 2]], np.array([0, 2]),
                               np.array([0, 2], dtype=np.uint8)],
                         ids=["float64-one-hot", "int64-one-hot", "int64-labels", "uint8-labels"])
def test_softmax_with_loss_keeps_float32_whatever_the_targets_dtype(t):
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], np.float32)
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    dx = layer.backward()
    assert dx.dtype == np.float32 and layer.y.dtype == np.float32
    # the same loss and dx as with int labels, computed all in float32
    reference = SoftmaxWithLoss()
    assert type(loss) is float and loss == pytest.approx(reference.forward(x, np.array([0, 2])), rel=1e-6)
    np.testing.assert_array_equal(dx, reference.backward())


def test_softmax_with_loss_rejects_empty_batch():
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss: scores must be a non-empty batch"):
        SoftmaxWithLoss().forward(np.zeros((0, 3)), np.zeros(0, int))


def test_softmax_with_loss_backward_before_forward_says_so():
    with pytest.raises(BackwardBeforeForwardError, match="SoftmaxWithLoss.backward"):
        SoftmaxWithLoss().backward()


def test_identity_with_loss_hand_values():
    layer = IdentityWithLoss()
    loss = layer.forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    assert loss == pytest.approx(0.5 * (1 + 4) / 2)
    np.testing.assert_allclose(layer.backward(), [[0.5], [1.0]])


@pytest.mark.parametrize("shape", [(1, 1), (4, 3)])
def test_identity_with_loss_backward_matches_numerical(shape):
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = IdentityWithLoss()
    layer.forward(x, t)
    dx = layer.backward(2.0)
    numeric = numerical_gradient(lambda: 2.0 * layer.forward(x, t), x, h=1e-6)
    assert_gradients_close({"x": dx}, {"x": numeric})


def test_identity_with_loss_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"IdentityWithLoss: targets have shape \(2, 3\), predictions \(2, 2\)"):
        IdentityWithLoss().forward(np.zeros((2, 2)), np.zeros((2, 3)))


@pytest.mark.parametrize("t", [np.array([[0.5], [1.0]]), np.array([1, 2]), np.array([[1], [2]], dtype=np.int64)],
                         ids=["float64", "int-1d", "int-2d"])
def test_identity_with_loss_keeps_float32_whatever_the_targets_dtype(t):
    x = np.array([[1.0], [3.0]], np.float32)
    layer = IdentityWithLoss()
    loss = layer.forward(x, t)
    dx = layer.backward()
    assert type(loss) is float and dx.dtype == np.float32
    np.testing.assert_allclose(dx, (x - t.reshape(2, 1)) / 2)
