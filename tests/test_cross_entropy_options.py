"""SoftmaxWithLoss's label_smoothing and reduction, as PyTorch's nn.CrossEntropyLoss has them.

The default (no smoothing, mean) is tests/test_loss.py's; here it is only checked to be
bit for bit what it was.
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from bprop.layers import SoftmaxWithLoss, numerical_gradient
from bprop.layers.functional import softmax_cross_entropy
from bprop.layers.gradcheck import assert_gradients_close

REFERENCE = json.loads((Path(__file__).parent / "data" / "activation_loss_reference.json").read_text())
CASES = REFERENCE["cross_entropy"]


def test_label_smoothing_hand_values():
    # p = softmax([0, ln 3]) = [1/4, 3/4]; label 1, eps 0.2, C 2: q = 0.8 [0, 1] + 0.1 = [0.1, 0.9]
    layer = SoftmaxWithLoss(label_smoothing=0.2)
    loss = layer.forward(np.array([[0.0, math.log(3.0)]]), np.array([1]))
    assert loss == pytest.approx(-(0.1 * math.log(0.25) + 0.9 * math.log(0.75)), rel=1e-15)
    np.testing.assert_allclose(layer.backward(), [[0.15, -0.15]], rtol=1e-14)  # p - q


def test_label_smoothing_that_makes_the_target_the_prediction_has_zero_gradient():
    # eps 0.5, C 2: q = 0.5 [0, 1] + 0.25 = [1/4, 3/4] = p, the loss is p's entropy
    layer = SoftmaxWithLoss(label_smoothing=0.5)
    loss = layer.forward(np.array([[0.0, math.log(3.0)]]), np.array([1]))
    assert loss == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)), rel=1e-15)
    np.testing.assert_allclose(layer.backward(), [[0.0, 0.0]], atol=1e-16)


def test_reduction_sum_is_the_mean_times_the_batch():
    # two rows: -ln(3/4) and -ln(1/2); the gradient loses its 1/N
    layer = SoftmaxWithLoss(reduction="sum")
    x = np.array([[0.0, math.log(3.0)], [0.0, 0.0]])
    assert layer.forward(x, np.array([1, 0])) == pytest.approx(-math.log(0.75) - math.log(0.5), rel=1e-15)
    np.testing.assert_allclose(layer.backward(2.0), [[0.5, -0.5], [-1.0, 1.0]], rtol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=[f"{'labels' if i < len(CASES) // 2 else 'probabilities'}-"
                                             f"eps{c['kwargs']['label_smoothing']}-{c['kwargs']['reduction']}"
                                             for i, c in enumerate(CASES)])
def test_softmax_with_loss_matches_pytorch_cross_entropy(case):
    layer = SoftmaxWithLoss(**case["kwargs"])
    loss = layer.forward(np.array(case["x"]), np.array(case["t"]))
    assert loss == pytest.approx(case["loss"], rel=1e-12)
    np.testing.assert_allclose(layer.backward(), case["dx"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("one_hot", [False, True], ids=["index", "one-hot"])
@pytest.mark.parametrize("eps, reduction", [(0.1, "mean"), (0.3, "sum"), (1.0, "mean"), (0.0, "sum")])
def test_smoothed_and_summed_backward_matches_numerical(one_hot, eps, reduction):
    rng = np.random.default_rng(17)
    x = 3 * rng.standard_normal((5, 4))
    t = rng.integers(0, 4, 5)
    if one_hot:
        t = np.eye(4)[t]
    layer = SoftmaxWithLoss(label_smoothing=eps, reduction=reduction)
    dout = 1.3
    layer.forward(x, t)
    dx = layer.backward(dout)
    numeric = numerical_gradient(lambda: dout * layer.forward(x, t), x, h=1e-6)
    assert_gradients_close({"x": dx}, {"x": numeric})


def test_labels_and_one_hot_rows_agree_with_smoothing():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    a, b = SoftmaxWithLoss(label_smoothing=0.2), SoftmaxWithLoss(label_smoothing=0.2)
    assert a.forward(x, t) == pytest.approx(b.forward(x, np.eye(4)[t]), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14, atol=1e-17)


def test_the_default_is_bit_for_bit_the_plain_cross_entropy():
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((7, 5)), rng.integers(0, 5, 7)
    layer = SoftmaxWithLoss()
    loss, y = softmax_cross_entropy(x, t)
    assert layer.forward(x, t) == loss
    expected = y.copy()
    expected[np.arange(7), t] -= 1.0
    expected *= 1.0 / 7
    np.testing.assert_array_equal(layer.backward(), expected)
    assert repr(layer) == "SoftmaxWithLoss()"


def test_smoothing_and_sum_are_exact_and_silent_for_logits_of_1000():
    layer = SoftmaxWithLoss(label_smoothing=0.5, reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # p = [1, 0]; label 0: q = [3/4, 1/4]; -log p = [0, 2000]
        loss = layer.forward(np.array([[1000.0, -1000.0]]), np.array([0]))
        dx = layer.backward()
    assert loss == 500.0
    np.testing.assert_array_equal(dx, [[0.25, -0.25]])


def test_smoothing_keeps_float32():
    layer = SoftmaxWithLoss(label_smoothing=0.1)
    layer.forward(np.zeros((2, 3), np.float32), np.array([0, 2]))
    assert layer.backward().dtype == np.float32
    assert layer.t.dtype == np.float32


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan"), float("inf"), "0.1", True, None])
def test_label_smoothing_outside_zero_to_one_is_refused(eps):
    with pytest.raises(ValueError, match=r"^SoftmaxWithLoss: label_smoothing must be a number in \[0, 1\], got "):
        SoftmaxWithLoss(label_smoothing=eps)


@pytest.mark.parametrize("reduction", ["none", "Sum", None, 0])
def test_an_unknown_reduction_is_refused(reduction):
    with pytest.raises(ValueError, match=rf"^SoftmaxWithLoss: reduction must be one of \['mean', 'sum'\], "
                                         rf"got {reduction!r}$"):
        SoftmaxWithLoss(reduction=reduction)


def test_reprs_name_what_is_not_the_default():
    assert repr(SoftmaxWithLoss(label_smoothing=0.1)) == "SoftmaxWithLoss(label_smoothing=0.1)"
    assert repr(SoftmaxWithLoss(reduction="sum")) == "SoftmaxWithLoss(reduction='sum')"
    assert repr(SoftmaxWithLoss(0.2, "sum")) == "SoftmaxWithLoss(label_smoothing=0.2, reduction='sum')"
