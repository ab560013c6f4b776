"""Weight initialisations (bprop.layers.init): each named rule's law, PyTorch's scales and fans
(tests/data/init_reference.json, written by tests/data/make_init_reference.py), the draws of
'he' and 'xavier' unchanged bit for bit, and every name usable in a layer and a network."""

import json
from pathlib import Path

import numpy as np
import pytest

from bprop.layers import GRU, LSTM, RNN, Affine, Convolution, Relu
from bprop.layers.embedding import Embedding
from bprop.layers.init import (
    INITS,
    gaussian_,
    init_,
    init_bias_,
    init_names,
    init_rule,
    init_scale,
    orthogonalise,
)
from bprop.networks import MultiLayerNet, Sequential

REFERENCE = json.loads((Path(__file__).parent / "data" / "init_reference.json").read_text())

#: a sample std or bound read off 120 000 draws is within this of the formula: the
#: standard error of a sample std is std / sqrt(2n) = 0.2 %, so 1.5 % is over 7 of them
STAT_RTOL = 0.015

#: name -> ('normal', std) or ('uniform', bound) for weights with fans (fan_in, fan_out)
FORMULAS = {
    "he": lambda i, o: ("normal", np.sqrt(2 / i)),
    "kaiming_normal": lambda i, o: ("normal", np.sqrt(2) / np.sqrt(i)),
    "kaiming_uniform": lambda i, o: ("uniform", np.sqrt(2) * np.sqrt(3 / i)),
    "xavier": lambda i, o: ("normal", np.sqrt(1 / i)),
    "xavier_normal": lambda i, o: ("normal", np.sqrt(2 / (i + o))),
    "xavier_uniform": lambda i, o: ("uniform", np.sqrt(6 / (i + o))),
    "torch_default": lambda i, o: ("uniform", 1 / np.sqrt(i)),
}


def old_gaussian(shape, std, rng, dtype=np.float64):
    """The draw 'he' and 'xavier' have always made: standard normals in the weight's dtype, times std."""
    dtype = np.dtype(dtype)
    return rng.standard_normal(shape, dtype=dtype) * dtype.type(std)


def assert_law(w, kind, scale):
    """``w`` looks like N(0, scale**2) or U(-scale, scale) (see STAT_RTOL)."""
    w = np.asarray(w, dtype=np.float64).ravel()
    std = scale if kind == "normal" else scale / np.sqrt(3)
    assert abs(w.mean()) < 5 * std / np.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=STAT_RTOL)
    if kind == "uniform":
        assert np.abs(w).max() <= scale
        assert np.abs(w).max() > (1 - 1e-3) * scale


# --- each rule's law -------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FORMULAS))
@pytest.mark.parametrize("fan_in, fan_out", [(400, 300), (27, 144)])
def test_each_named_rule_draws_the_law_of_its_formula(name, fan_in, fan_out):
    w = np.empty((400, 300))
    init_(w, name, fan_in, fan_out, np.random.default_rng(0))
    assert_law(w, *FORMULAS[name](fan_in, fan_out))


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_an_affine_from_sizes_draws_its_weights_with_fans_d_and_m(name):
    layer = Affine(500, 240, init=name, rng=1)
    assert (layer.fan_in, layer.fan_out) == (500, 240)
    assert_law(layer.W, *FORMULAS[name](500, 240))


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_a_convolution_from_sizes_draws_its_weights_with_torch_fans(name):
    layer = Convolution(16, 600, 5, init=name, rng=2)  # 600 filters of 16x5x5: fan_in 400, fan_out 15000
    assert (layer.fan_in, layer.fan_out) == (400, 15000)
    assert_law(layer.W, *FORMULAS[name](400, 15000))


def test_float32_weights_keep_their_dtype_and_law():
    for name in ("kaiming_uniform", "xavier_normal", "orthogonal"):
        layer = Affine(400, 300, init=name, rng=0, dtype=np.float32)
        assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
    layer = Affine(400, 300, init="xavier_uniform", rng=0, dtype=np.float32)
    assert_law(layer.W, *FORMULAS["xavier_uniform"](400, 300))


def test_an_embedding_draws_with_fan_in_one_and_fan_out_its_dim():
    layer = Embedding(3000, 50, init="xavier_uniform", rng=0)
    assert_law(layer.W, "uniform", np.sqrt(6 / (1 + 50)))


def test_zeros_and_ones_fill_weights_exactly_and_leave_biases_at_zero():
    for layer in (Affine(3, 4, init="zeros", rng=0), Convolution(2, 3, 2, init="zeros", rng=0)):
        assert not layer.W.any() and not layer.b.any()
    for layer in (Affine(3, 4, init="ones", rng=0), Convolution(2, 3, 2, init="ones", rng=0)):
        np.testing.assert_array_equal(layer.W, np.ones_like(layer.W))
        assert not layer.b.any()


# --- biases ----------------------------------------------------------------------------

def test_torch_default_draws_affine_and_conv_biases_from_plus_minus_one_over_sqrt_fan_in():
    assert_law(Affine(50, 120000, init="torch_default", rng=3).b, "uniform", 1 / np.sqrt(50))
    assert_law(Convolution(2, 120000, 3, init="torch_default", rng=4).b, "uniform", 1 / np.sqrt(18))


@pytest.mark.parametrize("name", sorted(set(INITS) - {"torch_default"}))
def test_every_other_rule_leaves_biases_at_zero_and_draws_nothing_for_them(name):
    rng = np.random.default_rng(5)
    b = np.full(7, 3.0)
    init_bias_(b, name, 10, rng)
    assert not b.any()
    assert rng.random() == np.random.default_rng(5).random()


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_recurrent_torch_default_bounds_wx_by_d_wh_and_b_by_h(cls):
    d, h = 400, 200  # Wh holds k * 40 000 draws
    layer = cls(d, h, init="torch_default", rng=0)
    assert_law(layer.Wx, "uniform", 1 / np.sqrt(d))
    assert_law(layer.Wh, "uniform", 1 / np.sqrt(h))
    bound = 1 / np.sqrt(h)
    assert layer.b.shape == (cls.n_gates() * h,)
    assert np.abs(layer.b).max() <= bound and layer.b.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)
    if cls is GRU:  # bhn, the n gate's hidden-side bias, starts at 0 by either path
        assert not layer.bhn.any()
        layer.bhn[...] = 1.0
        layer.reset_parameters("torch_default", np.random.default_rng(1))
        assert not layer.bhn.any() and np.abs(layer.b).max() <= bound


# --- orthogonal ------------------------------------------------------------------------

@pytest.mark.parametrize("d, m", [(6, 4), (4, 6), (5, 5)])
def test_orthogonal_affine_weights_have_orthonormal_columns_or_rows(d, m):
    W = Affine(d, m, init="orthogonal", rng=0).W
    small = W.T @ W if d >= m else W @ W.T
    np.testing.assert_allclose(small, np.eye(min(d, m)), atol=1e-12)


def test_orthogonal_conv_filters_are_orthonormal_rows_of_c_kh_kw():
    W = Convolution(3, 8, 2, init="orthogonal", rng=0).W.reshape(8, -1)  # 8 rows of 12
    np.testing.assert_allclose(W @ W.T, np.eye(8), atol=1e-12)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_orthogonal_recurrent_weights_are_orthogonal_per_gate_block(cls, dtype, atol):
    d, h = 7, 5
    layer = cls(d, h, init="orthogonal", rng=0, dtype=dtype)
    for g in range(cls.n_gates()):
        wh = layer.Wh[:, g * h:(g + 1) * h].astype(np.float64)
        wx = layer.Wx[:, g * h:(g + 1) * h].astype(np.float64)
        np.testing.assert_allclose(wh.T @ wh, np.eye(h), atol=atol)
        np.testing.assert_allclose(wx.T @ wx, np.eye(h), atol=atol)
    if cls is not RNN:  # the blocks are drawn apart, not one orthogonal (H, kH) matrix
        assert not np.allclose(layer.Wh @ layer.Wh.T, np.eye(h), atol=1e-3)


def test_blocks_that_do_not_divide_the_last_axis_are_refused():
    with pytest.raises(ValueError, match=r"init_: the last axis of a weight of shape \(3, 7\) is not 2 equal blocks"):
        init_(np.empty((3, 7)), "orthogonal", 3, 7, np.random.default_rng(0), blocks=2)


# --- against PyTorch (tests/data/init_reference.json) ----------------------------------

def bprop_layer_for(shape, init="he"):
    """The bprop layer whose weight is PyTorch's ``shape``: Linear (out, in) or Conv2d (FN, C, FH, FW)."""
    if len(shape) == 2:
        return Affine(shape[1], shape[0], init=init, rng=0)
    return Convolution(shape[1], shape[0], tuple(shape[2:]), init=init, rng=0)


@pytest.mark.parametrize("case", REFERENCE["inits"], ids=lambda c: f"{c['name']}-{c['shape']}-{c['torch']}")
def test_the_weight_scale_and_fans_are_torch_nn_init(case):
    layer = bprop_layer_for(case["shape"])
    assert (layer.fan_in, layer.fan_out) == (case["fan_in"], case["fan_out"])
    scale = INITS[case["name"]].weight_scale(layer.fan_in, layer.fan_out)
    assert scale == pytest.approx(case["scale"], rel=1e-12)


@pytest.mark.parametrize("case", REFERENCE["module_defaults"], ids=lambda c: f"{c['module']}-{c['shape']}")
def test_torch_default_is_the_default_of_nn_linear_and_nn_conv2d(case):
    layer = bprop_layer_for(case["shape"], "torch_default")
    assert (layer.fan_in, layer.fan_out) == (case["fan_in"], case["fan_out"])
    rule = INITS["torch_default"]
    assert rule.weight_scale(layer.fan_in) == pytest.approx(case["weight_bound"], rel=1e-12)
    assert rule.bias(layer.fan_in) == pytest.approx(case["bias_bound"], rel=1e-12)
    assert np.abs(layer.W).max() <= case["weight_bound"] and np.abs(layer.b).max() <= case["bias_bound"]


@pytest.mark.parametrize("case", REFERENCE["orthogonal"], ids=lambda c: str(c["shape"]))
def test_orthogonalise_gives_torch_orthogonal_for_the_same_gaussian(case):
    np.testing.assert_allclose(orthogonalise(np.array(case["gaussian"])), np.array(case["q"]), atol=1e-12)


# --- 'he' and 'xavier' draw as they always have ---------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_he_and_xavier_draws_are_bit_identical_to_the_plain_gaussian(dtype):
    cases = [(Affine(30, 20, init="he", rng=7, dtype=dtype).W, (30, 20), np.sqrt(2 / 30)),
             (Affine(30, 20, init="xavier", rng=7, dtype=dtype).W, (30, 20), np.sqrt(1 / 30)),
             (Convolution(3, 4, 5, init="he", rng=7, dtype=dtype).W, (4, 3, 5, 5), np.sqrt(2 / 75)),
             (Embedding(9, 4, rng=7, dtype=dtype).W, (9, 4), 1.0)]
    for W, shape, std in cases:
        np.testing.assert_array_equal(W, old_gaussian(shape, std, np.random.default_rng(7), dtype))
    w = np.empty((6, 5), dtype)
    gaussian_(w, "relu", 6, np.random.default_rng(7))
    np.testing.assert_array_equal(w, old_gaussian((6, 5), np.sqrt(2 / 6), np.random.default_rng(7), dtype))
    assert init_scale("xavier", 40) == np.sqrt(1 / 40)


def test_a_recurrent_layer_draws_wx_then_wh_as_before():
    layer = LSTM(6, 3, rng=11)  # 'xavier': randn / sqrt(fan_in), Wx then Wh from one stream
    rng = np.random.default_rng(11)
    np.testing.assert_array_equal(layer.Wx, old_gaussian((6, 12), np.sqrt(1 / 6), rng))
    np.testing.assert_array_equal(layer.Wh, old_gaussian((3, 12), np.sqrt(1 / 3), rng))
    assert not layer.b.any()


def test_a_network_initialised_with_he_draws_each_layer_in_order_as_before():
    net = MultiLayerNet(8, [6], 3, weight_init_std="he", rng=4)
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(net.params["W1"], old_gaussian((8, 6), np.sqrt(2 / 8), rng))
    np.testing.assert_array_equal(net.params["W2"], old_gaussian((6, 3), np.sqrt(2 / 6), rng))
    assert not net.params["b1"].any() and not net.params["b2"].any()


def test_kaiming_normal_is_he_by_pytorch_name():
    assert INITS["kaiming_normal"] is INITS["he"]


# --- every name, in a layer and in a network -------------------------------------------

@pytest.mark.parametrize("name", init_names())
def test_every_init_name_builds_an_affine(name):
    layer = Affine(3, 4, init=name, rng=0)
    assert layer.W.shape == (3, 4) and np.isfinite(layer.W).all() and np.isfinite(layer.b).all()
    assert layer.forward(np.ones((2, 3))).shape == (2, 4)


@pytest.mark.parametrize("name", init_names() + [0.3])
def test_every_init_name_initialises_a_sequential_as_its_layers_would(name):
    net = Sequential([Affine(5, 4), Relu(), Affine(4, 3)], init=name, rng=0)
    rng = np.random.default_rng(0)  # the network draws W1, b1, W2, b2 in that order, as two layers do
    first, second = Affine(5, 4, init=name, rng=rng), Affine(4, 3, init=name, rng=rng)
    for key, value in [("W1", first.W), ("b1", first.b), ("W2", second.W), ("b2", second.b)]:
        np.testing.assert_array_equal(net.params[key], value)
    assert np.isfinite(net.loss(np.ones((2, 5)), np.array([0, 2])))


@pytest.mark.parametrize("name", ["Kaiming_Uniform", "TORCH_DEFAULT", "Orthogonal"])
def test_init_names_are_found_in_any_case(name):
    assert init_rule(name) is INITS[name.lower()]


def test_a_positive_number_is_the_std_of_gaussian_weights_with_zero_biases():
    layer = Affine(400, 300, init=0.05, rng=0)
    assert_law(layer.W, "normal", 0.05)
    assert not layer.b.any()
    assert init_scale(0.05, 10) == 0.05


# --- refusals --------------------------------------------------------------------------

CHOICES = r"\['elu', 'gelu', 'he', 'kaiming_normal', 'kaiming_uniform', .*'xavier_uniform', 'zeros'\]"


@pytest.mark.parametrize("build", [
    lambda init: Affine(3, 4, init=init),
    lambda init: Convolution(1, 2, 3, init=init),
    lambda init: Embedding(5, 2, init=init),
    lambda init: LSTM(3, 2, init=init),
    lambda init: init_(np.empty(3), init, 3, 3, np.random.default_rng(0)),
    lambda init: init_bias_(np.empty(3), init, 3, np.random.default_rng(0)),
])
def test_an_unknown_name_is_refused_with_the_choices(build):
    with pytest.raises(ValueError, match=rf"^init: unknown name 'lecun'; choose one of {CHOICES} or a positive number$"):
        build("lecun")


@pytest.mark.parametrize("init", [0, -0.1, float("nan"), float("inf"), True, None, [0.1]])
def test_a_bad_number_is_refused_with_the_choices(init):
    with pytest.raises(ValueError, match=rf"^init must be a positive number or one of {CHOICES}, got "):
        Affine(3, 4, init=init)


def test_networks_refuse_a_bad_init_before_building():
    with pytest.raises(ValueError, match=rf"^init: unknown name 'glorot'; choose one of {CHOICES}"):
        Sequential([Affine(3, 2)], init="glorot")
    with pytest.raises(ValueError, match=rf"^weight_init_std must be a positive number or one of {CHOICES}, got -1"):
        MultiLayerNet(3, [2], 2, weight_init_std=-1)


def test_init_scale_refuses_rules_that_are_not_gaussian_or_lack_a_fan_out():
    with pytest.raises(ValueError, match=r"^init: 'orthogonal' draws no Gaussian weights .*init_\(w, init, fan_in"):
        init_scale("orthogonal", 10)
    with pytest.raises(ValueError, match=r"^init: 'xavier_normal' needs the fan-out too"):
        gaussian_(np.empty((3, 2)), "xavier_normal", 3, np.random.default_rng(0))
    assert init_scale("xavier_normal", 3, fan_out=2) == np.sqrt(2 / 5)


def test_an_init_reads_as_its_fill_and_scale():
    assert repr(INITS["torch_default"]) == "Init(uniform_, torch_default_bound, bias=torch_default_bound)"
    assert repr(INITS["orthogonal"]) == "Init(orthogonal_, one, blockwise=True)"
