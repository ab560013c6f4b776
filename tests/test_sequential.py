"""Sequential: any stack of the library's layers as one network."""

import os
import re
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bprop.layers import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Flatten,
    IdentityWithLoss,
    Pooling,
    Relu,
    Sigmoid,
    Tanh,
)
from bprop.layers.gradcheck import assert_gradients_close
from bprop.networks import MultiLayerNet, Sequential, name_layers
from bprop.networks.files import temp_path
from bprop.optim import Adam

from conftest import real_data_folder


def lenet5(rng=0, dtype=np.float32):
    """LeNet-5 for MNIST, as the README shows it."""
    return Sequential([
        Convolution(1, 6, 5, pad=2), Relu(), Pooling(2, 2, stride=2),   # 6 x 14 x 14
        Convolution(6, 16, 5), Relu(), Pooling(2, 2, stride=2),         # 16 x 5 x 5
        Flatten(),
        Affine(400, 120), Relu(),
        Affine(120, 84), Relu(),
        Affine(84, 10),
    ], input_shape=(1, 28, 28), init="he", rng=rng, dtype=dtype)


def small_cnn(rng=0):
    return Sequential([
        Convolution(3, 4, 3, stride=2, pad=1), BatchNormalization(4), Relu(),   # 4 x 16 x 16
        Convolution(4, 8, 3, stride=2), Relu(), Pooling(2, 2, stride=2),       # 8 x 7 x 7 -> 8 x 3 x 3
        Flatten(), Dropout(0.2, rng=rng), Affine(72, 5),
    ], input_shape=(3, 32, 32), init="he", rng=rng)


def test_a_list_of_layers_gets_the_textbook_names():
    net = small_cnn()
    assert list(net.layers) == ["Conv1", "BatchNorm1", "Relu1", "Conv2", "Relu2", "Pool1",
                                "Flatten1", "Dropout1", "Affine1"]
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "W3", "b3"]
    assert list(name_layers([Relu(), Relu(), Sigmoid()])) == ["Relu1", "Relu2", "Sigmoid1"]


def test_an_ordered_dict_keeps_its_names_and_the_layers_share_the_params():
    rng = np.random.default_rng(0)
    layers = OrderedDict(hidden=Affine(rng.standard_normal((4, 3)), np.zeros(3)), act=Tanh(),
                         out=Affine(rng.standard_normal((3, 2)), np.ones(2)))
    W_before = layers["hidden"].W.copy()
    net = Sequential(layers)
    assert list(net.layers) == ["hidden", "act", "out"] and net.input_shape == (4,)
    # init=None keeps the layers' own values, now inside the network's buffer
    np.testing.assert_array_equal(net.params["W1"], W_before)
    np.testing.assert_array_equal(net.params["b2"], 1.0)
    assert net.layers["out"].W is net.params["W2"] and np.shares_memory(net.params["W2"], net.params.flat)
    assert net.layers["hidden"].input_grad is False and net.layers["out"].input_grad is True


def test_shapes_are_inferred_and_summary_lists_them():
    net = small_cnn()
    assert net.shapes["Conv1"] == (4, 16, 16) and net.shapes["Pool1"] == (8, 3, 3)
    assert net.output_shape == (5,) and net.output_size == 5
    text = net.summary()
    assert re.search(r"Conv2: Convolution\(4 -> 8, kernel=3x3, stride=2, pad=0\) +\(None, 8, 7, 7\) +296\n", text)
    assert "BatchNorm1" in text and text.rstrip().endswith(str(net.n_params()))


@pytest.mark.parametrize("layers, input_shape, match", [
    ([Affine(10, 5), Relu(), Affine(6, 2)], None,
     r"layer 'Affine2' does not fit its input of shape \(5,\).*5 features per sample, W expects 6"),
    ([Convolution(3, 4, 3), Flatten(), Affine(10, 2)], (1, 8, 8),
     r"layer 'Conv1' does not fit its input of shape \(1, 8, 8\).*expects \(3, H, W\)"),
    ([Convolution(1, 4, 3), Pooling(2, 2, stride=2), Pooling(4, 4)], (1, 8, 8),
     r"layer 'Pool2' does not fit its input of shape \(4, 3, 3\).*window 4x4 is larger"),
    ([Affine(4, 3), BatchNormalization(4)], None, r"layer 'BatchNorm1' does not fit its input of shape \(3,\)"),
    ([Convolution(1, 2, 3)], None, r"give input_shape"),
    ([], None, "at least one layer"),
    ([Affine(4, 3), "relu"], None, r"layers\[1\] is not a bprop layer: 'relu'"),
    ([Affine(4, 2)], (0, 4), "input_shape must be a tuple of positive integers"),
])
def test_a_layer_that_does_not_fit_is_refused_when_the_network_is_built(layers, input_shape, match):
    with pytest.raises(ValueError, match=match):
        Sequential(layers, input_shape=input_shape)


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "hinge"}, r"unknown loss 'hinge'"),
    ({"dtype": np.int64}, "dtype must be float32 or float64, got int64"),
    ({"init": "lecun"}, "unknown name 'lecun'"),
    ({"weight_decay_lambda": -1.0}, r"weight_decay_lambda must be >= 0, got -1.0"),
    ({"weight_decay_lambda": float("nan")}, r"weight_decay_lambda must be >= 0, got nan"),
    ({"rng": "seed"}, "rng must be None, an int seed"),
])
def test_bad_network_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Sequential([Affine(4, 2)], **kwargs)


def test_the_same_layer_object_twice_is_refused():
    relu = Relu()
    with pytest.raises(ValueError, match=r"layer 'Relu2' is the same object as 'Relu1'"):
        Sequential([Affine(4, 3), relu, Affine(3, 3), relu])


def test_network_init_draws_layer_by_layer_as_the_fixed_nets_always_did():
    net = MultiLayerNet(6, [5, 4], 3, weight_init_std="he", dtype=np.float32, rng=3, use_batchnorm=True)
    rng = np.random.default_rng(3)
    for key, fan_in, shape in (("W1", 6, (6, 5)), ("W2", 5, (5, 4)), ("W3", 4, (4, 3))):
        expected = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2 / fan_in))
        np.testing.assert_array_equal(net.params[key], expected)
    assert np.all(net.params["gamma1"] == 1) and np.all(net.params["b2"] == 0)


def test_weight_decay_applies_to_the_weights_the_layers_name():
    rng = np.random.default_rng(1)
    net = Sequential([Affine(4, 3), BatchNormalization(3), Relu(), Affine(3, 2)], init="he", rng=2,
                     weight_decay_lambda=0.3)
    assert net._decay_keys == ["W1", "W2"]
    x, t = rng.standard_normal((5, 4)), rng.integers(0, 2, 5)
    assert_gradients_close(*net.gradient_check(x, t))


def checked_state_dict_cases():
    good = small_cnn(rng=1).state_dict()
    bad_shape = dict(good, W2=np.zeros((8, 4, 3, 2)))
    nan_w3 = dict(good, W3=np.where(np.arange(good["W3"].size).reshape(good["W3"].shape) == 7, np.nan, 1.0))
    int_b1 = dict(good, b1=np.array(["a"] * 4))
    missing = {k: v for k, v in good.items() if k != "BatchNorm1.running_var"}
    return [
        (bad_shape, r"key 'W2' has shape \(8, 4, 3, 2\).*this network's W2 has shape \(8, 4, 3, 3\)"),
        (nan_w3, r"key 'W3' .* 1 non-finite value\(s\), the first nan at index \(1, 2\)"),
        (int_b1, r"key 'b1' has dtype <U1"),
        (missing, r"missing keys \['BatchNorm1.running_var'\]"),
        (dict(good, extra=np.zeros(1)), r"unexpected keys \['extra'\]"),
    ]


@pytest.mark.parametrize("case", range(5))
def test_load_state_dict_checks_everything_before_changing_anything(case):
    state, match = checked_state_dict_cases()[case]
    net = small_cnn(rng=0)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match=match):
        net.load_state_dict(state)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # W1 is not half-loaded


def test_state_dict_round_trips_parameters_and_running_statistics(tmp_path):
    rng = np.random.default_rng(2)
    net = small_cnn(rng=3)
    x = rng.standard_normal((4, 3, 32, 32))
    net.loss_and_gradient(x, rng.integers(0, 5, 4))  # moves the running statistics
    assert "BatchNorm1.running_mean" in net.state_dict()
    path = tmp_path / "cnn.npz"
    net.save_params(path)
    other = small_cnn(rng=4)
    other.load_params(path)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    assert not os.path.exists(temp_path(path)) and sorted(os.listdir(tmp_path)) == ["cnn.npz"]


def test_a_3x32x32_conv_net_with_a_stride_2_convolution_trains_and_saves(tmp_path):
    rng = np.random.default_rng(5)
    net = small_cnn(rng=6)
    x, t = rng.standard_normal((16, 3, 32, 32)), rng.integers(0, 5, 16)
    opt = Adam(lr=0.01)
    first = net.loss(x, t)
    for _ in range(15):
        _, grads = net.loss_and_gradient(x, t)
        opt.update(net.params, grads)
    assert net.loss(x, t) < 0.5 * first
    net.save_params(tmp_path / "w.npz")
    back = small_cnn(rng=7)
    back.load_params(tmp_path / "w.npz")
    np.testing.assert_array_equal(back.predict(x), net.predict(x))


def test_a_float32_network_stays_float32_with_float64_one_hot_targets():
    rng = np.random.default_rng(8)
    net = Sequential([Affine(4, 3), Relu(), Affine(3, 2)], dtype=np.float32, init="he", rng=0)
    x = rng.standard_normal((5, 4))
    t = np.eye(2)[rng.integers(0, 2, 5)]  # float64 one-hot
    _, grads = net.loss_and_gradient(x, t)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.last_layer.backward(1.0).dtype == np.float32


def test_regression_with_the_identity_loss_gradient_checks():
    rng = np.random.default_rng(9)
    net = Sequential([Affine(3, 4), Sigmoid(), Affine(4, 2)], loss=IdentityWithLoss(), init="xavier", rng=1)
    assert_gradients_close(*net.gradient_check(rng.standard_normal((4, 3)), rng.standard_normal((4, 2))))


# --- random stacks, gradient-checked --------------------------------------------

@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_conv_stacks_backprop_matches_numerical_gradients(data):
    c, h, w = data.draw(st.integers(1, 2)), data.draw(st.integers(4, 7)), data.draw(st.integers(4, 7))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape, layers = (c, h, w), []
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["conv", "pool", "act", "bn", "dropout"]))
        ch, hh, ww = shape
        if kind == "conv":
            k = data.draw(st.integers(1, 3))
            pad = data.draw(st.integers(0, 1))
            if k > min(hh, ww) + 2 * pad:
                continue
            layers.append(Convolution(ch, data.draw(st.integers(1, 3)), k, stride=data.draw(st.integers(1, 2)),
                                      pad=pad, rng=rng))
        elif kind == "pool":
            if min(hh, ww) < 2:
                continue
            k = data.draw(st.integers(2, min(3, hh, ww)))
            layers.append(Pooling(k, k, stride=data.draw(st.integers(1, 2)), pad=data.draw(st.integers(0, k - 1)),
                                  mode=data.draw(st.sampled_from(["max", "avg"]))))
        elif kind == "act":
            layers.append(data.draw(st.sampled_from([Relu, Sigmoid, Tanh]))())
        elif kind == "bn":
            layers.append(BatchNormalization(ch))
        else:
            layers.append(Dropout(data.draw(st.sampled_from([0.0, 0.3])), rng=rng))
        shape = layers[-1].output_shape(shape)
    layers += [Flatten(), Affine(int(np.prod(shape)), 3, rng=rng)]
    net = Sequential(layers, input_shape=(c, h, w), rng=rng)
    for p in net.params.values():  # non-zero biases: no exact ReLU kinks at 0
        p += 0.1 * rng.standard_normal(p.shape)
    n = data.draw(st.integers(2, 3))
    x, t = rng.standard_normal((n, c, h, w)), rng.integers(0, 3, n)
    assert_gradients_close(*net.gradient_check(x, t))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.data())
def test_random_mlp_stacks_backprop_matches_numerical_gradients(data):
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    d = data.draw(st.integers(1, 5))
    layers, width = [], d
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["affine", "act", "bn", "dropout"]))
        if kind == "affine":
            out = data.draw(st.integers(1, 5))
            layers.append(Affine(width, out, rng=rng))
            width = out
        elif kind == "act":
            layers.append(data.draw(st.sampled_from([Relu, Sigmoid, Tanh]))())
        elif kind == "bn":
            layers.append(BatchNormalization(width))
        else:
            layers.append(Dropout(0.25, rng=rng))
    layers.append(Affine(width, 3, rng=rng))
    net = Sequential(layers, input_shape=(d,), weight_decay_lambda=data.draw(st.sampled_from([0.0, 0.1])))
    for p in net.params.values():
        p += 0.1 * rng.standard_normal(p.shape)
    n = data.draw(st.integers(2, 4))
    t = rng.integers(0, 3, n) if data.draw(st.booleans()) else np.eye(3)[rng.integers(0, 3, n)]
    assert_gradients_close(*net.gradient_check(rng.standard_normal((n, d)), t))


# --- LeNet-5 on real MNIST ------------------------------------------------------

def test_lenet5_reaches_94_percent_on_an_8000_image_mnist_subset():
    """LeNet-5 built by Sequential learns MNIST, its convolutions included: 2 epochs on 8000
    images (Adam, lr 3e-3, batch 32) give 0.961 on the first 2000 test images with OpenBLAS's
    Haswell kernels and 0.9605 with SkylakeX (seeds 1 and 2: 0.950, 0.9465). Chance is 0.10;
    the same runs with the two convolutions frozen at their random weights, only the Affine
    layers learning, give 0.90 (seeds 1 and 2: 0.8865, 0.9205)."""
    from bprop.datasets import load_mnist
    from bprop.optim import Trainer

    root = real_data_folder("mnist").parent
    (x_train, t_train), (x_test, t_test) = load_mnist(root=root, flatten=False)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x_train), 8000, replace=False)
    net = lenet5(rng=0)
    Trainer(net, Adam(lr=3e-3), (x_train[idx], t_train[idx]), epochs=2, batch_size=32, rng=0,
            verbose=0, eval_train=500).fit()
    acc = net.accuracy(x_test[:2000], t_test[:2000])
    assert acc >= 0.94, acc


def test_input_grad_true_makes_backward_return_the_gradient_of_the_input():
    from bprop.layers import Affine, Relu, numerical_gradient

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 4)), np.array([0, 2, 1])
    default = Sequential([Affine(4, 5, rng=0), Relu(), Affine(5, 3, rng=1)])
    default.loss(x, t, train=True)
    assert default.backward(default.last_layer.backward(1.0)) is None  # data needs no gradient
    net = Sequential([Affine(4, 5, rng=0), Relu(), Affine(5, 3, rng=1)], input_grad=True)
    net.loss(x, t, train=True)
    dx = net.backward(net.last_layer.backward(1.0))
    expected = numerical_gradient(lambda: net.loss(x, t, train=True), x)
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-9)
