import warnings

import numpy as np
import pytest

from bprop.layers import (
    cross_entropy_error,
    log_softmax,
    mean_squared_error,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_cross_entropy,
    step_function,
    tanh_grad,
)
from bprop.layers.functional import check_targets


def test_step_function_hand_values():
    np.testing.assert_array_equal(step_function(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])
    assert step_function(np.array([-1, 3])).dtype.kind == "i"


def test_sigmoid_hand_values():
    x = np.array([0.0, np.log(3.0), -np.log(3.0)])
    np.testing.assert_allclose(sigmoid(x), [0.5, 0.75, 0.25], rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_exact_and_silent_at_plus_minus_1000(dtype):
    x = np.array([-1000.0, -50.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(x)
    assert y.dtype == dtype
    assert y[0] == 0.0 and y[2] == 1.0
    # the small tail keeps its relative precision
    np.testing.assert_allclose(y[1], np.exp(-50.0) / (1 + np.exp(-50.0)), rtol=1e-6)


def test_sigmoid_of_integers_is_float():
    assert sigmoid(np.array([0, 1])).dtype == np.float64


def test_derivatives_hand_values():
    np.testing.assert_allclose(sigmoid_grad(np.array([0.0])), [0.25])
    np.testing.assert_array_equal(relu_grad(np.array([-1.0, 0.0, 3.0])), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(tanh_grad(np.array([0.0])), [1.0])
    np.testing.assert_array_equal(relu(np.array([-2.0, 0.5])), [0.0, 0.5])


def test_softmax_rows_hand_values_and_sum_to_one():
    x = np.array([[0.0, np.log(3.0)], [1.0, 1.0]])
    np.testing.assert_allclose(softmax(x), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)


def test_softmax_and_log_softmax_do_not_overflow():
    x = np.array([[1000.0, -1000.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = softmax(x)
        ly = log_softmax(x)
    np.testing.assert_allclose(y, [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(ly, [[0.0, -2000.0, -1000.0]])


def test_softmax_cross_entropy_hand_value_both_label_formats():
    x = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])
    loss_idx, y = softmax_cross_entropy(x, np.array([1, 0]))
    loss_hot, _ = softmax_cross_entropy(x, np.array([[0.0, 1.0], [1.0, 0.0]]))
    expected = -(np.log(0.75) + np.log(0.5)) / 2
    assert loss_idx == pytest.approx(expected, rel=1e-14)
    assert loss_hot == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(y, [[0.25, 0.75], [0.5, 0.5]])


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    loss, _ = softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == 2000.0


def test_cross_entropy_error_from_probabilities():
    y = np.array([[0.1, 0.9], [0.8, 0.2]])
    assert cross_entropy_error(y, np.array([1, 0])) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    assert cross_entropy_error(y, np.eye(2)[[1, 0]]) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    # one sample as 1-D, like the textbook's first example
    assert cross_entropy_error(np.array([0.1, 0.9]), 1) == pytest.approx(-np.log(0.9))


def test_cross_entropy_error_never_takes_log_of_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = cross_entropy_error(np.array([[1.0, 0.0]]), np.array([1]))
    assert np.isfinite(value) and value > 700


def test_mean_squared_error_hand_value():
    y = np.array([[1.0, 2.0], [0.0, 0.0]])
    t = np.array([[0.0, 2.0], [0.0, 2.0]])
    assert mean_squared_error(y, t) == pytest.approx(0.5 * (1 + 4) / 2)


def test_mean_squared_error_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(2,\).*\(3,\)"):
        mean_squared_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("t, match", [
    (np.array([0, 3]), r"label 3 is outside \[0, 3\)"),
    (np.array([-1, 0]), r"label -1 is outside"),
    (np.array([0.5, 1.0]), r"integer class labels expected, got dtype float64"),
    (np.array([0, 1, 2]), r"3 labels for a batch of 2"),
    (np.zeros((2, 4)), r"one-hot targets have width 4, expected 3"),
    (np.zeros((2, 3, 1)), r"labels \(N,\) or one-hot \(N, C\), got shape \(2, 3, 1\)"),
])
def test_softmax_cross_entropy_rejects_bad_targets(t, match):
    with pytest.raises(ValueError, match=match):
        softmax_cross_entropy(np.zeros((2, 3)), t)


@pytest.mark.parametrize("loss", [softmax_cross_entropy, cross_entropy_error])
@pytest.mark.parametrize("t, row, why", [
    ([[1.0, 0.0, 0.0], [0.0, 5.0, 0.0]], 1, r"it holds 5, outside \[0, 1\]; row 1 is \[0, 5, 0\]"),
    ([[-1.0, 1.0, 1.0], [0.0, 1.0, 0.0]], 0, r"it holds -1, outside \[0, 1\]"),
    ([[0.0, 1.0, 0.0], [0.3, 0.3, 0.3]], 1, r"it sums to 0\.9, not 1"),
], ids=["five", "negative", "sums-to-0.9"])
def test_losses_refuse_float_targets_that_are_not_probability_rows(loss, t, row, why):
    with pytest.raises(ValueError, match=rf"{loss.__name__}: target row {row} is neither one-hot nor a "
                                         rf"probability row \(values in \[0, 1\] summing to 1\): {why}"):
        loss(np.full((2, 3), 1 / 3), np.array(t))


def test_check_targets_names_the_first_bad_row_and_shortens_a_long_one():
    t = np.zeros((3, 12))
    t[0, 0] = 1.0
    t[1:, 3] = 2.0
    with pytest.raises(ValueError, match=r"who: target row 1 .*row 1 is \[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, \.\.\.\]"):
        check_targets("who", t, 3, 12)


# Property-based checks: any finite logits, however large, give valid probabilities.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 6)), elements=finite))
def test_softmax_rows_are_probabilities_for_any_finite_logits(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = softmax(x)
        ly = log_softmax(x)
    assert np.all(y >= 0) and np.all(y <= 1)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.isfinite(ly)) and np.all(ly <= 0)
    np.testing.assert_allclose(np.exp(ly), y, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=finite))
def test_sigmoid_is_in_0_1_and_symmetric(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(x)
        y_neg = sigmoid(-x)
    assert np.all((y >= 0) & (y <= 1))
    np.testing.assert_allclose(y + y_neg, 1.0, rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 5)), elements=finite), st.data())
def test_softmax_cross_entropy_is_finite_non_negative_and_shift_invariant(x, data):
    t = np.array(data.draw(st.lists(st.integers(0, x.shape[1] - 1), min_size=x.shape[0], max_size=x.shape[0])))
    loss, _ = softmax_cross_entropy(x, t)
    shifted, _ = softmax_cross_entropy(x + 123.0, t)
    assert np.isfinite(loss) and loss >= 0
    assert shifted == pytest.approx(loss, rel=1e-9, abs=1e-9)
