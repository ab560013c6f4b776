"""ELU, GELU, SiLU and Softplus: hand values, PyTorch's numbers, gradient checks, tails, names.

PyTorch's numbers come from tests/data/activation_loss_reference.json, written by
tests/data/make_activation_loss_reference.py, so torch is not needed here.
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from bprop.layers.smooth_activations import ELU, GELU, Softplus, SiLU  # registers them in ACTIVATIONS
from bprop.layers import ACTIVATIONS, INITS, BackwardBeforeForwardError, numerical_gradient
from bprop.layers.smooth_functions import gelu, gelu_grad, normal_cdf, softplus
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import MultiLayerNet

REFERENCE = json.loads((Path(__file__).parent / "data" / "activation_loss_reference.json").read_text())
LAYERS = {"ELU": ELU, "GELU": GELU, "SiLU": SiLU, "Softplus": Softplus}
#: every layer of this module, in its default form and with each other argument tried
VARIANTS = [(ELU, {}), (ELU, {"alpha": 0.5}), (GELU, {}), (GELU, {"approximate": "tanh"}), (SiLU, {}),
            (Softplus, {}), (Softplus, {"beta": 2.0, "threshold": 5.0})]
VARIANT_IDS = [f"{cls.__name__}{kwargs}" for cls, kwargs in VARIANTS]


def forward_backward(layer, x, dout):
    return layer.forward(np.asarray(x, dtype=np.float64)), layer.backward(np.asarray(dout, dtype=np.float64))


# --- hand-computed values -------------------------------------------------------------

def test_elu_hand_values():
    # exp(-ln 2) = 1/2: y = alpha * (1/2 - 1), dy/dx = alpha / 2; at 0 the slope is alpha (PyTorch)
    y, dx = forward_backward(ELU(alpha=2.0), [[-math.log(2.0), 0.0, 3.0]], [[1.0, 1.0, 1.0]])
    np.testing.assert_allclose(y, [[-1.0, 0.0, 3.0]], rtol=1e-15)
    np.testing.assert_allclose(dx, [[1.0, 2.0, 1.0]], rtol=1e-15)
    y, dx = forward_backward(ELU(), [[-1.0]], [[3.0]])
    np.testing.assert_allclose(y, [[-0.6321205588285577]], rtol=1e-15)  # e**-1 - 1
    np.testing.assert_allclose(dx, [[3 * 0.36787944117144233]], rtol=1e-15)  # 3 e**-1


def test_gelu_exact_hand_values():
    # Phi(1) = 0.8413447460685429, phi(1) = exp(-1/2) / sqrt(2 pi) = 0.24197072451914337 (tables)
    y, dx = forward_backward(GELU(), [[-1.0, 0.0, 1.0]], [[1.0, 1.0, 1.0]])
    np.testing.assert_allclose(y, [[-0.15865525393145707, 0.0, 0.8413447460685429]], rtol=1e-15)
    # Phi(x) + x phi(x): 1 - Phi(1) - phi(1), 1/2, Phi(1) + phi(1)
    np.testing.assert_allclose(dx, [[-0.0833154705876863, 0.5, 1.0833154705876863]], rtol=1e-14)


def test_gelu_tanh_equals_the_textbook_tanh_form():
    x = np.array([[-3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.0]])
    u = [math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3) for v in x[0]]
    expected = [0.5 * v * (1 + math.tanh(w)) for v, w in zip(x[0], u)]
    slope = [0.5 * (1 + math.tanh(w)) + 0.5 * v * (1 - math.tanh(w) ** 2)
             * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * v * v) for v, w in zip(x[0], u)]
    y, dx = forward_backward(GELU(approximate="tanh"), x, np.ones_like(x))
    np.testing.assert_allclose(y[0], expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(dx[0], slope, rtol=1e-14, atol=1e-16)


def test_silu_hand_values():
    # sigmoid(ln 3) = 3/4: y = 3/4 ln 3, dy/dx = s (1 + x (1 - s)) = 3/4 (1 + ln 3 / 4); at 0: 0 and 1/2
    y, dx = forward_backward(SiLU(), [[math.log(3.0), 0.0]], [[1.0, 2.0]])
    np.testing.assert_allclose(y, [[0.75 * math.log(3.0), 0.0]], rtol=1e-15)
    np.testing.assert_allclose(dx, [[0.75 * (1 + math.log(3.0) / 4), 1.0]], rtol=1e-15)


def test_softplus_hand_values_and_threshold():
    # beta 2, x = ln(3)/2: log(1 + 3) / 2 = ln 2, slope sigmoid(ln 3) = 3/4; at 0: ln(2)/beta and 1/2
    y, dx = forward_backward(Softplus(beta=2.0), [[math.log(3.0) / 2, 0.0]], [[1.0, 1.0]])
    np.testing.assert_allclose(y, [[math.log(2.0), math.log(2.0) / 2]], rtol=1e-15)
    np.testing.assert_allclose(dx, [[0.75, 0.5]], rtol=1e-15)
    # beta x = 20 is not above threshold 20: still log1p(exp(20)); 20.5 is: the identity, slope 1
    y, dx = forward_backward(Softplus(), [[20.0, 20.5]], [[1.0, 1.0]])
    assert y[0, 0] == pytest.approx(math.log1p(math.exp(20.0)), rel=1e-15) and y[0, 0] != 20.0
    assert y[0, 1] == 20.5 and dx[0, 1] == 1.0
    assert dx[0, 0] == pytest.approx(1 / (1 + math.exp(-20.0)), rel=1e-15)


def test_normal_cdf_keeps_its_left_tail():
    # 1 + erf(-30 / sqrt 2) rounds to 0; erfc keeps Phi(-30) = 4.906713927148187e-198
    assert normal_cdf(np.array(-30.0)) == pytest.approx(4.906713927148187e-198, rel=1e-13)
    assert gelu(np.array(-30.0)) == pytest.approx(-30 * 4.906713927148187e-198, rel=1e-13)


# --- PyTorch's numbers ---------------------------------------------------------------

@pytest.mark.parametrize("case", REFERENCE["activations"],
                         ids=[f"{c['layer']}{c['kwargs']}" for c in REFERENCE["activations"]])
def test_activation_matches_pytorch_forward_and_backward(case):
    layer = LAYERS[case["layer"]](**case["kwargs"])
    y, dx = forward_backward(layer, case["x"], case["dout"])
    # absolute: where PyTorch's 1 + erf(x) rounds to 0 (x < -8) bprop keeps a tiny nonzero value
    np.testing.assert_allclose(y, case["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, case["dx"], rtol=1e-12, atol=1e-12)


# --- gradient checks -------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 4)])
def test_smooth_activation_backward_matches_numerical_in_float64(cls, kwargs, shape):
    layer = cls(**kwargs)
    rng = np.random.default_rng(21)
    x = 3 * rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # ELU with alpha != 1 has a kink at 0
    if cls is Softplus:
        x[np.abs(layer.beta * x - layer.threshold) < 1e-3] = 0.5  # and Softplus a step at its threshold
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert analytic["x"].dtype == np.float64
    assert_gradients_close(analytic, numeric)


def test_softplus_check_crosses_its_threshold():
    layer = Softplus(beta=2.0, threshold=5.0)
    x = np.array([[-3.0, 0.1, 2.4, 2.6, 7.0]])  # beta x = 4.8 (smooth part) and 5.2 (identity)
    analytic, numeric = check_layer_gradient(layer, x, rng=0)
    assert_gradients_close(analytic, numeric)


# --- extreme inputs, dtype, contract -------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_smooth_activation_is_finite_and_silent_at_plus_minus_1000(cls, kwargs):
    layer = cls(**kwargs)
    x = np.array([[-1000.0, -100.0, 100.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    # each is the identity for large x (slope 1) and flat for large -x (ELU at -alpha)
    np.testing.assert_allclose(y[0, 2:], [100.0, 1000.0], rtol=1e-15)
    np.testing.assert_allclose(dx[0, 2:], [1.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(dx[0, :2], [0.0, 0.0], atol=1e-40)


def test_gelu_gradient_is_finite_for_the_largest_floats():
    x = np.array([-1e300, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for approximate in GELU.APPROXIMATIONS:
            np.testing.assert_array_equal(gelu(x, approximate), [0.0, 1e300])
            np.testing.assert_array_equal(gelu_grad(x, approximate), [0.0, 1.0])


@pytest.mark.parametrize("cls, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_smooth_activation_keeps_float32(cls, kwargs):
    layer = cls(**kwargs)
    y = layer.forward(np.linspace(-3, 3, 6, dtype=np.float32).reshape(2, 3))
    assert y.dtype == np.float32
    assert layer.backward(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("cls, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_smooth_activation_backward_leaves_dout_and_cache_alone(cls, kwargs):
    layer = cls(**kwargs)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4))
    layer.forward(x)
    dout = rng.standard_normal((3, 4))
    before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, before)
    assert not np.shares_memory(dx, dout)
    np.testing.assert_array_equal(layer.backward(dout), dx)  # the cache was not changed


@pytest.mark.parametrize("cls", [ELU, GELU, SiLU, Softplus])
def test_smooth_activation_backward_before_forward_or_with_wrong_dout_says_so(cls):
    with pytest.raises(BackwardBeforeForwardError, match=f"{cls.__name__}.backward was called before"):
        cls().backward(np.ones((1, 1)))
    layer = cls()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward: dout has shape \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_integer_input_is_computed_in_float64():
    assert GELU().forward(np.array([[1, 2]])).dtype == np.float64
    assert softplus(np.array([0])).dtype == np.float64


def test_smooth_activation_reprs():
    assert repr(ELU()) == "ELU(alpha=1.0)"
    assert repr(GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    assert repr(SiLU()) == "SiLU()"
    assert repr(Softplus(beta=2, threshold=10)) == "Softplus(beta=2.0, threshold=10.0)"


# --- bad hyperparameters -----------------------------------------------------------------

@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), "1", True, None])
def test_elu_rejects_an_alpha_that_is_not_a_finite_number(alpha):
    with pytest.raises(ValueError, match=r"^ELU: alpha must be a finite number, got "):
        ELU(alpha)


def test_elu_accepts_any_finite_alpha_as_pytorch():
    assert ELU(-0.5).alpha == -0.5 and ELU(0).alpha == 0.0


@pytest.mark.parametrize("approximate", ["erf", "Tanh", None, True])
def test_gelu_rejects_an_unknown_approximation(approximate):
    with pytest.raises(ValueError, match=rf"^GELU: approximate must be one of \['none', 'tanh'\], "
                                         rf"got {approximate!r}$"):
        GELU(approximate)


@pytest.mark.parametrize("beta", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_softplus_rejects_a_beta_that_is_not_finite_and_positive(beta):
    with pytest.raises(ValueError, match=r"^Softplus: beta must be a finite number > 0, got "):
        Softplus(beta=beta)


@pytest.mark.parametrize("threshold", [float("nan"), float("-inf"), "20", None])
def test_softplus_rejects_a_threshold_that_is_not_finite(threshold):
    with pytest.raises(ValueError, match=r"^Softplus: threshold must be a finite number, got "):
        Softplus(threshold=threshold)


# --- names -------------------------------------------------------------------------------

NAMES = {"elu": ELU, "gelu": GELU, "silu": SiLU, "swish": SiLU, "softplus": Softplus}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_new_activation_is_found_by_name_with_he_init(name):
    cls = ACTIVATIONS.lookup(name.upper())
    assert cls is NAMES[name]
    assert cls.default_init == "he" and cls.default_init in INITS
    assert isinstance(cls(), cls)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_multi_layer_net_with_each_new_activation_trains_on_true_gradients(name):
    rng = np.random.default_rng(7)
    net = MultiLayerNet(3, [5, 4], 2, activation=name, weight_init_std=name, rng=rng)
    assert sum(type(layer) is NAMES[name] for layer in net.layers.values()) == 2
    x = rng.standard_normal((6, 3))
    t = rng.integers(0, 2, 6)
    loss, grads = net.loss_and_gradient(x, t)
    assert np.isfinite(loss)
    analytic = {key: grads[key].copy() for key in ("W1", "b2")}
    numeric = {key: numerical_gradient(lambda: net.loss(x, t, train=True), net.params[key], h=1e-6)
               for key in analytic}
    assert_gradients_close(analytic, numeric)
