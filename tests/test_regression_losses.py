"""MeanSquaredError, L1Loss and HuberLoss: hand values, PyTorch's numbers, gradient checks, shapes, names."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from bprop.layers.regression_losses import HuberLoss, L1Loss, MeanSquaredError  # registers them in LOSSES
from bprop.layers import LOSSES, BackwardBeforeForwardError, numerical_gradient
from bprop.layers.gradcheck import assert_gradients_close
from bprop.networks import MultiLayerNet

REFERENCE = json.loads((Path(__file__).parent / "data" / "activation_loss_reference.json").read_text())
LOSS_CLASSES = {"MeanSquaredError": MeanSquaredError, "L1Loss": L1Loss, "HuberLoss": HuberLoss}
CASES = [c for c in REFERENCE["elementwise_losses"] if c["layer"] in LOSS_CLASSES]

# d = x - t = [[1, 0], [-2, 0.5]]
X = np.array([[1.0, 2.0], [3.0, 4.5]])
T = np.array([[0.0, 2.0], [5.0, 4.0]])


# --- hand-computed values ---------------------------------------------------------------

def test_mse_hand_values():
    layer = MeanSquaredError()
    assert layer.forward(X, T) == 5.25 / 4  # (1 + 0 + 4 + 0.25) / 4 elements
    np.testing.assert_array_equal(layer.backward(), [[0.5, 0.0], [-1.0, 0.25]])  # 2 d / 4
    layer = MeanSquaredError(reduction="sum")
    assert layer.forward(X, T) == 5.25
    np.testing.assert_array_equal(layer.backward(2.0), [[4.0, 0.0], [-8.0, 2.0]])  # dout 2 d


def test_l1_hand_values_with_zero_gradient_where_prediction_equals_target():
    layer = L1Loss()
    assert layer.forward(X, T) == 3.5 / 4  # (1 + 0 + 2 + 0.5) / 4
    np.testing.assert_array_equal(layer.backward(), [[0.25, 0.0], [-0.25, 0.25]])  # sign(d) / 4, sign(0) = 0
    assert L1Loss(reduction="sum").forward(X, T) == 3.5


def test_huber_hand_values_on_both_sides_of_delta():
    layer = HuberLoss()
    # delta 1: |d| = 1 -> 1 * (1 - 1/2) = 0.5 (= 1/2 * 1**2), 0 -> 0, 2 -> 1 * (2 - 1/2) = 1.5, 0.5 -> 0.125
    assert layer.forward(X, T) == pytest.approx(2.125 / 4, rel=1e-15)
    np.testing.assert_array_equal(layer.backward(), [[0.25, 0.0], [-0.25, 0.125]])  # clip(d, -1, 1) / 4
    layer = HuberLoss(delta=0.5, reduction="sum")
    # delta 1/2: 1 -> 0.5 * 0.75, 2 -> 0.5 * 1.75, 0.5 -> 0.5 * 0.25 (= 1/2 * 0.5**2)
    assert layer.forward(X, T) == pytest.approx(0.375 + 0.875 + 0.125, rel=1e-15)
    np.testing.assert_array_equal(layer.backward(), [[0.5, 0.0], [-0.5, 0.5]])


# --- PyTorch's numbers ---------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[f"{c['layer']}{c['kwargs']}" for c in CASES])
def test_regression_loss_matches_pytorch(case):
    layer = LOSS_CLASSES[case["layer"]](**case["kwargs"])
    loss = layer.forward(np.array(case["x"]), np.array(case["t"]))
    assert loss == pytest.approx(case["loss"], rel=1e-12)
    np.testing.assert_allclose(layer.backward(), case["dx"], rtol=1e-12, atol=1e-15)


# --- gradient checks -------------------------------------------------------------------

@pytest.mark.parametrize("make", [MeanSquaredError, L1Loss, HuberLoss, lambda: HuberLoss(delta=0.3),
                                  lambda: MeanSquaredError(reduction="sum"), lambda: L1Loss(reduction="sum")],
                         ids=["mse", "l1", "huber", "huber-0.3", "mse-sum", "l1-sum"])
@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 4)])
def test_regression_loss_backward_matches_numerical_in_float64(make, shape):
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = make()
    d = x - t
    x[np.abs(d) < 1e-3] += 0.01  # L1 has a kink at d = 0
    if isinstance(layer, HuberLoss):
        x[np.abs(np.abs(x - t) - layer.delta) < 1e-3] += 0.01  # and Huber's second derivative jumps at delta
    dout = 1.7
    layer.forward(x, t)
    dx = layer.backward(dout)
    numeric = numerical_gradient(lambda: dout * layer.forward(x, t), x, h=1e-6)
    assert_gradients_close({"x": dx}, {"x": numeric})


# --- extreme inputs, dtype, shapes ------------------------------------------------------

@pytest.mark.parametrize("cls", [MeanSquaredError, L1Loss, HuberLoss])
def test_regression_loss_is_finite_and_silent_for_plus_minus_1000(cls):
    layer = cls()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = layer.forward(np.array([[1000.0, -1000.0]]), np.array([[-1000.0, 1000.0]]))
        dx = layer.backward()
    expected = {MeanSquaredError: (4e6, [[2000.0, -2000.0]]), L1Loss: (2000.0, [[0.5, -0.5]]),
                HuberLoss: (1999.5, [[0.5, -0.5]])}[cls]
    assert loss == expected[0]
    np.testing.assert_array_equal(dx, expected[1])


@pytest.mark.parametrize("cls", [MeanSquaredError, L1Loss, HuberLoss])
def test_regression_loss_keeps_float32_whatever_the_targets_dtype(cls):
    layer = cls()
    layer.forward(np.ones((2, 3), np.float32), np.zeros((2, 3), np.int64))
    assert layer.backward().dtype == np.float32


def test_a_one_dimensional_target_fits_one_output_per_sample():
    a, b = MeanSquaredError(), MeanSquaredError()
    assert a.forward(np.array([[1.0], [2.0]]), np.array([0.0, 0.0])) == b.forward(
        np.array([[1.0], [2.0]]), np.array([[0.0], [0.0]])) == 2.5
    np.testing.assert_array_equal(a.backward(), b.backward())


@pytest.mark.parametrize("x, t, match", [
    (np.zeros((2, 3)), np.zeros((3, 2)), r"^MeanSquaredError: targets have shape \(3, 2\), predictions \(2, 3\)$"),
    (np.zeros((2, 3)), np.zeros(2), r"^MeanSquaredError: targets have shape \(2,\), predictions \(2, 3\)$"),
    (np.zeros((2, 1)), np.array(["a", "b"]), r"^MeanSquaredError: targets must be numeric, got dtype <U1$"),
    (np.zeros((0, 3)), np.zeros((0, 3)), r"^MeanSquaredError: predictions must be a non-empty batch"),
    (np.float64(1.0), np.float64(1.0), r"^MeanSquaredError: predictions must be a non-empty batch"),
])
def test_regression_loss_rejects_targets_that_do_not_fit(x, t, match):
    with pytest.raises(ValueError, match=match):
        MeanSquaredError().forward(x, t)


@pytest.mark.parametrize("cls", [MeanSquaredError, L1Loss, HuberLoss])
@pytest.mark.parametrize("reduction", ["none", "Mean", None, 1])
def test_regression_loss_rejects_an_unknown_reduction(cls, reduction):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: reduction must be one of \['mean', 'sum'\], "
                                         rf"got {reduction!r}$"):
        cls(reduction=reduction)


@pytest.mark.parametrize("delta", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_huber_rejects_a_delta_that_is_not_finite_and_positive(delta):
    with pytest.raises(ValueError, match=r"^HuberLoss: delta must be a finite number > 0, got "):
        HuberLoss(delta=delta)


@pytest.mark.parametrize("cls", [MeanSquaredError, L1Loss, HuberLoss])
def test_regression_loss_backward_before_forward_says_so(cls):
    with pytest.raises(BackwardBeforeForwardError, match=rf"{cls.__name__}.backward was called before"):
        cls().backward()


def test_regression_loss_reprs():
    assert repr(MeanSquaredError()) == "MeanSquaredError()"
    assert repr(L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    assert repr(HuberLoss(delta=0.5)) == "HuberLoss(delta=0.5)"
    assert repr(HuberLoss(reduction="sum")) == "HuberLoss(delta=1.0, reduction='sum')"


# --- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, cls", [("mse", MeanSquaredError), ("l1", L1Loss), ("huber", HuberLoss)])
def test_each_regression_loss_is_found_by_name_and_ends_a_network(name, cls):
    assert LOSSES.lookup(name.upper()) is cls
    rng = np.random.default_rng(3)
    net = MultiLayerNet(3, [4], 2, loss=name, rng=rng)
    assert type(net.last_layer) is cls and net.default_metrics == ("loss",)
    x, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    loss, grads = net.loss_and_gradient(x, t)
    assert loss == pytest.approx(cls().forward(net.predict(x), t), rel=1e-15)
    numeric = numerical_gradient(lambda: net.loss(x, t, train=True), net.params["W2"], h=1e-6)
    assert_gradients_close({"W2": grads["W2"]}, {"W2": numeric})
