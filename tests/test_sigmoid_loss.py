"""SigmoidWithLoss (binary cross-entropy on logits) and the BinaryAccuracy metric."""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from bprop.layers.sigmoid_loss import SigmoidWithLoss  # registers it in LOSSES
from bprop.layers import LOSSES, BackwardBeforeForwardError, numerical_gradient
from bprop.layers.smooth_functions import sigmoid_binary_cross_entropy
from bprop.layers.gradcheck import assert_gradients_close
from bprop.networks import MultiLayerNet
from bprop.optim import Adam, Trainer
from bprop.optim.metrics import METRICS, BinaryAccuracy

REFERENCE = json.loads((Path(__file__).parent / "data" / "activation_loss_reference.json").read_text())
CASES = [c for c in REFERENCE["elementwise_losses"] if c["layer"] == "SigmoidWithLoss"]


def test_sigmoid_bce_hand_values():
    # sigmoid(0) = 1/2 against 1: ln 2; sigmoid(ln 3) = 3/4 against 0: -ln(1/4) = 2 ln 2
    layer = SigmoidWithLoss()
    assert layer.forward(np.array([[0.0, math.log(3.0)]]), np.array([[1, 0]])) == pytest.approx(
        1.5 * math.log(2.0), rel=1e-15)
    np.testing.assert_allclose(layer.backward(), [[-0.25, 0.375]], rtol=1e-15)  # (s - t) / 2


def test_sigmoid_bce_with_a_probability_target():
    # sigmoid(ln 3) = 3/4 against 1/4: -(1/4 ln 3/4 + 3/4 ln 1/4); slope 3/4 - 1/4; sum: no 1/M
    layer = SigmoidWithLoss(reduction="sum")
    loss = layer.forward(np.array([[math.log(3.0)]]), np.array([[0.25]]))
    assert loss == pytest.approx(-(0.25 * math.log(0.75) + 0.75 * math.log(0.25)), rel=1e-15)
    np.testing.assert_allclose(layer.backward(2.0), [[1.0]], rtol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=[f"{'labels' if i < 2 else 'probabilities'}-{c['kwargs']['reduction']}"
                                             for i, c in enumerate(CASES)])
def test_sigmoid_bce_matches_pytorch_bce_with_logits(case):
    layer = SigmoidWithLoss(**case["kwargs"])
    loss = layer.forward(np.array(case["x"]), np.array(case["t"]))
    assert loss == pytest.approx(case["loss"], rel=1e-12)
    np.testing.assert_allclose(layer.backward(), case["dx"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 3, 4)])
def test_sigmoid_bce_backward_matches_numerical_in_float64(reduction, shape):
    rng = np.random.default_rng(9)
    x = 3 * rng.standard_normal(shape)
    t = rng.uniform(size=shape)
    layer = SigmoidWithLoss(reduction=reduction)
    dout = 0.6
    layer.forward(x, t)
    dx = layer.backward(dout)
    numeric = numerical_gradient(lambda: dout * layer.forward(x, t), x, h=1e-6)
    assert_gradients_close({"x": dx}, {"x": numeric})


def test_sigmoid_bce_is_exact_and_silent_for_logits_of_plus_minus_1000():
    layer = SigmoidWithLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # right with certainty: loss 0; wrong with certainty: loss 1000 per element
        loss = layer.forward(np.array([[1000.0, -1000.0, 1000.0, -1000.0]]), np.array([[1, 0, 0, 1]]))
        dx = layer.backward()
    assert loss == 2000.0 / 4
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 0.25, -0.25]])


def test_the_stable_form_equals_the_textbook_form_where_that_is_finite():
    rng = np.random.default_rng(1)
    x, t = 4 * rng.standard_normal(50), rng.uniform(size=50)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(sigmoid_binary_cross_entropy(x, t), -t * np.log(s) - (1 - t) * np.log(1 - s),
                               rtol=1e-10)


def test_sigmoid_bce_keeps_float32_with_boolean_targets():
    layer = SigmoidWithLoss()
    layer.forward(np.zeros((2, 3), np.float32), np.ones((2, 3), bool))
    assert layer.backward().dtype == np.float32


@pytest.mark.parametrize("t, match", [
    (np.array([[0.0, 1.5]]), r"^SigmoidWithLoss: targets must be labels 0/1 or probabilities in \[0, 1\], got 1.5$"),
    (np.array([[-1, 1]]), r"^SigmoidWithLoss: targets must be .* got -1$"),
    (np.array([[np.nan, 1.0]]), r"^SigmoidWithLoss: targets must be .* got nan$"),
    (np.array([[0.0, 1.0, 0.0]]), r"^SigmoidWithLoss: targets have shape \(1, 3\), predictions \(1, 2\)$"),
])
def test_sigmoid_bce_rejects_bad_targets(t, match):
    with pytest.raises(ValueError, match=match):
        SigmoidWithLoss().forward(np.zeros((1, 2)), t)


@pytest.mark.parametrize("reduction", ["none", "MEAN", None])
def test_sigmoid_bce_rejects_an_unknown_reduction(reduction):
    with pytest.raises(ValueError, match=r"^SigmoidWithLoss: reduction must be one of \['mean', 'sum'\]"):
        SigmoidWithLoss(reduction=reduction)


def test_sigmoid_bce_backward_before_forward_says_so():
    with pytest.raises(BackwardBeforeForwardError, match=r"SigmoidWithLoss.backward was called before"):
        SigmoidWithLoss().backward()


# --- in a network, with its metric ----------------------------------------------------------

def test_sigmoid_bce_is_found_by_name_and_ends_a_network_evaluated_by_binary_accuracy():
    assert LOSSES.lookup("Sigmoid_BCE") is SigmoidWithLoss
    rng = np.random.default_rng(4)
    net = MultiLayerNet(3, [4], 2, loss="sigmoid_bce", rng=rng)
    assert net.default_metrics == ("loss", "binary_accuracy")
    x, t = rng.standard_normal((6, 3)), rng.integers(0, 2, (6, 2))
    loss, grads = net.loss_and_gradient(x, t)
    numeric = numerical_gradient(lambda: net.loss(x, t, train=True), net.params["W1"], h=1e-6)
    assert_gradients_close({"W1": grads["W1"]}, {"W1": numeric})

    metric = METRICS.lookup("binary_accuracy")()
    metric.reset()
    metric.update(net, x, t, net.loss(x, t))
    expected = np.mean((net.predict(x) > 0) == (t > 0.5))
    assert metric.result() == expected and metric.key == "binary_acc" and metric.mode == "max"


class Scores:
    """A model whose last scores are fixed logits."""

    def __init__(self, scores):
        self._scores = np.asarray(scores)

    def scores(self):
        return self._scores


def test_binary_accuracy_counts_every_output_over_batches_hand_values():
    metric = BinaryAccuracy()
    metric.reset()
    # logit > 0 means yes; a probability target above 1/2 means yes: 3 of 4 right
    metric.update(Scores([[2.0, -1.0], [0.0, 0.3]]), None, np.array([[1, 0], [0.0, 0.2]]), 0.0)
    # (N,) targets for scores (N, 1): 1 of 2 right
    metric.update(Scores([[1.0], [-1.0]]), None, np.array([0, 0]), 0.0)
    assert metric.result() == 4 / 6


def test_a_trainer_fits_a_sigmoid_bce_network_and_reports_binary_accuracy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2))
    t = (x[:, :1] * x[:, 1:] > 0).astype(np.float64)  # same sign: 1 (XOR of the quadrants)
    net = MultiLayerNet(2, [16], 1, activation="tanh", loss="sigmoid_bce", rng=1)
    history = Trainer(net, Adam(lr=0.05), (x, t), (x, t), epochs=30, batch_size=20, rng=0, verbose=0).fit()
    assert history["val_loss"][-1] < 0.25 * history["val_loss"][0]
    assert history["val_binary_acc"][-1] >= 0.95 > history["val_binary_acc"][0]
