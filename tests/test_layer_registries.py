import numpy as np
import pytest

from bprop.layers import (
    ACTIVATIONS,
    ELU,
    GELU,
    INITS,
    LOSSES,
    Activation,
    HuberLoss,
    IdentityWithLoss,
    L1Loss,
    LeakyRelu,
    MeanSquaredError,
    Relu,
    Sigmoid,
    SigmoidWithLoss,
    SiLU,
    SoftmaxWithLoss,
    Softplus,
    Tanh,
    init_scale,
)
from bprop.layers.init import init_names
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import MultiLayerNet, Sequential


def away_from_kink(x):
    """``x`` with entries near 0 moved off it: relu-like functions have no derivative there."""
    x = x.copy()
    x[np.abs(x) < 1e-3] = 0.5
    return x


# --- LeakyRelu, the activation added through the registry ----------------------------

def test_leaky_relu_forward_and_backward_hand_values():
    layer = LeakyRelu(alpha=0.1)
    y = layer.forward(np.array([[-2.0, -0.5, 0.0, 3.0]]))
    np.testing.assert_allclose(y, [[-0.2, -0.05, 0.0, 3.0]], rtol=1e-15)
    dx = layer.backward(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_allclose(dx, [[0.1, 0.2, 0.3, 4.0]], rtol=1e-15)  # x = 0 takes the slope alpha


def test_leaky_relu_default_alpha_is_one_hundredth():
    layer = LeakyRelu()
    assert layer.alpha == 0.01
    np.testing.assert_allclose(layer.forward(np.array([[-1.0, 2.0]])), [[-0.01, 2.0]], rtol=1e-15)
    np.testing.assert_allclose(layer.backward(np.array([[5.0, 5.0]])), [[0.05, 5.0]], rtol=1e-15)
    assert repr(layer) == "LeakyRelu(alpha=0.01)"


@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 4)])
@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_leaky_relu_backward_matches_numerical_in_float64(shape, alpha):
    rng = np.random.default_rng(3)
    x = away_from_kink(rng.standard_normal(shape))
    analytic, numeric = check_layer_gradient(LeakyRelu(alpha), x, rng=rng)
    assert analytic["x"].dtype == np.float64
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("alpha", [0, -0.1, float("nan"), float("inf"), "0.1", True, None])
def test_leaky_relu_rejects_an_alpha_that_is_not_a_finite_positive_number(alpha):
    with pytest.raises(ValueError, match=r"LeakyRelu: alpha must be a finite number > 0"):
        LeakyRelu(alpha)


# --- what every registered activation promises ---------------------------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_is_built_by_name_and_declares_a_known_default_init(name):
    cls = ACTIVATIONS[name]
    assert issubclass(cls, Activation)
    assert cls.default_init in INITS
    assert isinstance(cls(), cls)  # built with no arguments, as MultiLayerNet builds it


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_backward_matches_numerical_and_leaves_dout_alone(name):
    rng = np.random.default_rng(4)
    x = away_from_kink(rng.standard_normal((4, 5)))
    dout = rng.standard_normal((4, 5))
    before = dout.copy()
    analytic, numeric = check_layer_gradient(ACTIVATIONS[name](), x, dout=dout)
    assert_gradients_close(analytic, numeric)
    np.testing.assert_array_equal(dout, before)
    assert not np.shares_memory(analytic["x"], dout)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_keeps_float32(name):
    layer = ACTIVATIONS[name]()
    assert layer.forward(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)).dtype == np.float32
    assert layer.backward(np.ones((2, 3), np.float32)).dtype == np.float32


# --- the activation registry ---------------------------------------------------------

def test_activation_registry_holds_each_activation_with_the_init_it_suits():
    assert dict(ACTIVATIONS) == {"relu": Relu, "leaky_relu": LeakyRelu, "sigmoid": Sigmoid, "tanh": Tanh,
                                 "elu": ELU, "gelu": GELU, "silu": SiLU, "swish": SiLU, "softplus": Softplus}
    assert {name: cls.default_init for name, cls in ACTIVATIONS.items()} == {
        "relu": "he", "leaky_relu": "he", "sigmoid": "xavier", "tanh": "xavier",
        "elu": "he", "gelu": "he", "silu": "he", "swish": "he", "softplus": "he"}


def test_activation_lookup_folds_case_and_names_the_choices_when_unknown():
    assert ACTIVATIONS.lookup("Leaky_ReLU") is LeakyRelu
    with pytest.raises(ValueError, match=r"^MultiLayerNet: unknown activation 'mish'; "
                                         r"choose one of \['elu', 'gelu', 'leaky_relu', 'relu', 'sigmoid', "
                                         r"'silu', 'softplus', 'swish', 'tanh'\]$"):
        ACTIVATIONS.lookup("mish", owner="MultiLayerNet")


def test_a_second_activation_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match=r"'relu' is already"):
        @ACTIVATIONS.register("relu")
        class OtherRelu(Relu):
            pass
    assert ACTIVATIONS["relu"] is Relu


def test_an_activation_registered_in_one_place_is_usable_by_name_in_a_network_and_as_an_init():
    @ACTIVATIONS.register("test_cube")
    class Cube(Activation):
        """``y = x**3``; ``dx = dout * 3 x**2``, only for this test."""

        default_init = "xavier"

        def forward(self, x, train=True):
            self.x = np.asarray(x)
            return self.x ** 3

        def backward(self, dout):
            return dout * 3.0 * self.x ** 2

    try:
        net = MultiLayerNet(6, [5], 3, activation="test_cube", weight_init_std="test_cube", rng=0)
        assert list(net.layers) == ["Affine1", "Cube1", "Affine2"]
        assert init_scale("test_cube", 25) == np.sqrt(1 / 25)
        rng = np.random.default_rng(6)
        analytic, numeric = net.gradient_check(rng.standard_normal((4, 6)), rng.integers(0, 3, 4))
        assert_gradients_close(analytic, numeric)
    finally:
        del ACTIVATIONS["test_cube"]
    assert "test_cube" not in ACTIVATIONS


# --- LeakyRelu by name in a network ----------------------------------------------------

def test_multi_layer_net_builds_leaky_relu_by_name_with_its_default_init():
    net = MultiLayerNet(40, [30, 20], 3, activation="leaky_relu", rng=7)
    assert list(net.layers) == ["Affine1", "LeakyRelu1", "Affine2", "LeakyRelu2", "Affine3"]
    assert repr(net.layers["LeakyRelu1"]) == "LeakyRelu(alpha=0.01)"
    for init in (LeakyRelu.default_init, "leaky_relu"):
        same = MultiLayerNet(40, [30, 20], 3, activation="leaky_relu", weight_init_std=init, rng=7)
        for key in net.params:
            np.testing.assert_array_equal(net.params[key], same.params[key])


def test_multi_layer_net_with_leaky_relu_gradient_matches_numerical_in_float64():
    rng = np.random.default_rng(8)
    net = MultiLayerNet(6, [5, 4], 3, activation="leaky_relu", weight_init_std=0.5, rng=9)
    analytic, numeric = net.gradient_check(rng.standard_normal((4, 6)), rng.integers(0, 3, 4))
    assert net.params["W1"].dtype == np.float64
    assert_gradients_close(analytic, numeric)


# --- initialisations -------------------------------------------------------------------

def test_init_registry_holds_he_and_xavier_as_gaussians_of_the_fan_in():
    assert {"he", "xavier"} <= set(INITS)
    assert INITS["he"].weight_scale(50) == np.sqrt(2 / 50)
    assert INITS["xavier"].weight_scale(50) == np.sqrt(1 / 50)


@pytest.mark.parametrize("init, expected", [("he", np.sqrt(2 / 50)), ("HE", np.sqrt(2 / 50)),
                                            ("xavier", np.sqrt(1 / 50)), ("relu", np.sqrt(2 / 50)),
                                            ("leaky_relu", np.sqrt(2 / 50)), ("sigmoid", np.sqrt(1 / 50)),
                                            ("tanh", np.sqrt(1 / 50)), (0.05, 0.05)])
def test_init_scale_by_init_name_activation_name_or_number(init, expected):
    assert init_scale(init, 50) == expected


def test_an_unknown_init_name_lists_every_name_accepted():
    with pytest.raises(ValueError, match=r"^weight_init_std: unknown name 'lecun'; choose one of "
                                         r"\['elu', 'gelu', 'he', 'kaiming_normal', 'kaiming_uniform', 'leaky_relu', "
                                         r"'ones', 'orthogonal', 'relu', 'sigmoid', 'silu', 'softplus', 'swish', "
                                         r"'tanh', 'torch_default', 'xavier', 'xavier_normal', 'xavier_uniform', "
                                         r"'zeros'\] or a positive number$"):
        init_scale("lecun", 10, "weight_init_std")


def test_init_names_are_the_initialisations_and_the_activations():
    assert init_names() == ["elu", "gelu", "he", "kaiming_normal", "kaiming_uniform", "leaky_relu", "ones",
                            "orthogonal", "relu", "sigmoid", "silu", "softplus", "swish", "tanh",
                            "torch_default", "xavier", "xavier_normal", "xavier_uniform", "zeros"]


def test_an_activation_without_a_default_init_fails_as_an_init_name_alone():
    @ACTIVATIONS.register("test_bare")
    class Bare(Relu):
        default_init = None

    try:
        with pytest.raises(ValueError, match=r"^init: the default_init of 'test_bare': unknown initialisation None"):
            init_scale("test_bare", 10)
        assert init_scale("relu", 8) == 0.5
    finally:
        del ACTIVATIONS["test_bare"]


@pytest.mark.parametrize("init", [0, -1.0, float("nan"), float("inf"), True, None, [0.1]])
def test_an_init_that_is_no_name_and_no_positive_number_is_refused(init):
    with pytest.raises(ValueError, match=r"^init must be a positive number or one of \['elu', "):
        init_scale(init, 10)


# --- losses ----------------------------------------------------------------------------

def test_loss_registry_holds_softmax_and_identity():
    assert dict(LOSSES) == {"softmax": SoftmaxWithLoss, "identity": IdentityWithLoss, "mse": MeanSquaredError,
                            "l1": L1Loss, "huber": HuberLoss, "sigmoid_bce": SigmoidWithLoss}


def test_sequential_builds_its_loss_by_name_in_any_case():
    net = Sequential([Relu()], loss="Identity", input_shape=(3,))
    assert type(net.last_layer) is IdentityWithLoss


def test_an_unknown_loss_names_the_choices_and_the_other_way():
    with pytest.raises(ValueError, match=r"^Sequential: unknown loss 'hinge'; choose one of "
                                         r"\['huber', 'identity', 'l1', 'mse', 'sigmoid_bce', 'softmax'\] "
                                         r"or pass a loss layer$"):
        Sequential([Relu()], loss="hinge", input_shape=(3,))
