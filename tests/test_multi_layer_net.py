import os

import numpy as np
import pytest

from bprop.networks import MultiLayerNet, TwoLayerNet
from bprop.layers.gradcheck import assert_gradients_close
from bprop.optim import SGD, Adam


def tiny_batch(rng, n=4, d=6, c=3):
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def check_net_gradient(net, x, t):
    grads, numeric = net.gradient_check(x, t)
    assert list(grads) == list(net.params)
    assert_gradients_close(grads, numeric)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_gradient_matches_numerical_for_each_activation(activation):
    rng = np.random.default_rng(0)
    net = MultiLayerNet(6, [5, 4], 3, activation=activation, weight_init_std=0.5, rng=1)
    check_net_gradient(net, *tiny_batch(rng))


def test_gradient_matches_numerical_with_weight_decay():
    rng = np.random.default_rng(1)
    net = MultiLayerNet(6, [5], 3, weight_decay_lambda=0.3, rng=2)
    check_net_gradient(net, *tiny_batch(rng))


def test_gradient_matches_numerical_with_batchnorm_and_dropout():
    rng = np.random.default_rng(2)
    net = MultiLayerNet(6, [5, 4], 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.3, rng=3)
    check_net_gradient(net, *tiny_batch(rng, n=5))


def test_gradient_matches_numerical_with_one_hot_labels_and_no_hidden_layer():
    rng = np.random.default_rng(3)
    net = MultiLayerNet(6, [], 3, rng=4)
    x, t = tiny_batch(rng)
    check_net_gradient(net, x, np.eye(3)[t])


def test_gradient_matches_numerical_for_regression_output():
    rng = np.random.default_rng(4)
    net = MultiLayerNet(3, [4], 2, loss="identity", rng=5)
    check_net_gradient(net, rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))


def test_loss_adds_weight_decay_term():
    rng = np.random.default_rng(5)
    x, t = tiny_batch(rng)
    plain = MultiLayerNet(6, [5], 3, rng=6)
    decayed = MultiLayerNet(6, [5], 3, weight_decay_lambda=0.1, rng=6)
    w2 = np.sum(plain.params["W1"] ** 2) + np.sum(plain.params["W2"] ** 2)
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + 0.05 * w2)


def test_loss_and_gradient_returns_the_training_loss():
    rng = np.random.default_rng(6)
    x, t = tiny_batch(rng)
    net = MultiLayerNet(6, [5], 3, rng=7)
    loss, grads = net.loss_and_gradient(x, t)
    assert loss == pytest.approx(net.loss(x, t, train=True))


def test_layers_reference_params_and_optimizer_updates_in_place():
    rng = np.random.default_rng(7)
    net = MultiLayerNet(6, [5], 3, use_batchnorm=True, rng=8)
    before = net.params["W1"].copy()
    ids = {k: id(v) for k, v in net.params.items()}
    Adam(lr=0.1).update(net.params, net.gradient(*tiny_batch(rng)))
    assert net.layers["Affine1"].W is net.params["W1"]
    assert net.layers["Affine2"].b is net.params["b2"]
    assert net.layers["BatchNorm1"].gamma is net.params["gamma1"]
    assert {k: id(v) for k, v in net.params.items()} == ids
    assert not np.array_equal(net.params["W1"], before)


def test_layer_names_and_parameter_keys():
    net = MultiLayerNet(4, [3, 3], 2, activation="tanh", use_batchnorm=True, use_dropout=True)
    assert list(net.layers) == ["Affine1", "BatchNorm1", "Tanh1", "Dropout1",
                                "Affine2", "BatchNorm2", "Tanh2", "Dropout2", "Affine3"]
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]


@pytest.mark.parametrize("init, fan_in, expected", [("relu", 400, np.sqrt(2 / 400)), ("he", 400, np.sqrt(2 / 400)),
                                                    ("sigmoid", 400, np.sqrt(1 / 400)),
                                                    ("xavier", 400, np.sqrt(1 / 400)), (0.01, 400, 0.01)])
def test_weight_init_scales(init, fan_in, expected):
    net = MultiLayerNet(fan_in, [300], 2, weight_init_std=init, rng=0)
    assert net.params["W1"].std() == pytest.approx(expected, rel=0.02)
    np.testing.assert_array_equal(net.params["b1"], 0)


def test_float32_net_never_upcasts():
    rng = np.random.default_rng(8)
    net = MultiLayerNet(6, [5, 4], 3, use_batchnorm=True, use_dropout=True, dtype=np.float32, rng=9)
    x, t = tiny_batch(rng)  # float64 data is cast once at the input
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.predict(x).dtype == np.float32
    loss, grads = net.loss_and_gradient(x, t)
    assert all(g.dtype == np.float32 for g in grads.values())
    for name, layer in net.layers.items():
        for attr in ("mask", "out", "_x", "_xhat", "_scale_mask"):
            value = getattr(layer, attr, None)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert value.dtype == np.float32, (name, attr)
    Adam().update(net.params, grads)
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_accuracy_with_labels_and_one_hot_and_in_batches():
    rng = np.random.default_rng(9)
    net = MultiLayerNet(6, [5], 3, rng=10)
    x = rng.standard_normal((25, 6))
    pred = np.argmax(net.predict(x), axis=1)
    t = pred.copy()
    t[:5] = (t[:5] + 1) % 3
    assert net.accuracy(x, t, batch_size=7) == pytest.approx(20 / 25)
    assert net.accuracy(x, np.eye(3)[t]) == pytest.approx(20 / 25)


def test_save_and_load_params_round_trip(tmp_path):
    rng = np.random.default_rng(10)
    a = MultiLayerNet(6, [5], 3, use_batchnorm=True, rng=11)
    a.gradient(*tiny_batch(rng))  # moves the running statistics
    path = tmp_path / "sub" / "weights.npz"
    a.save_params(path)
    assert os.listdir(tmp_path / "sub") == ["weights.npz"]  # no temporary left behind
    b = MultiLayerNet(6, [5], 3, use_batchnorm=True, rng=12)
    W1 = b.params["W1"]
    b.load_params(path)
    assert b.params["W1"] is W1 and b.layers["Affine1"].W is W1
    x = rng.standard_normal((3, 6))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_load_params_into_another_shape_names_key_and_shapes(tmp_path):
    MultiLayerNet(6, [5], 3, rng=0).save_params(tmp_path / "w.npz")
    other = MultiLayerNet(6, [7], 3, rng=0)
    before = other.params["W1"].copy()
    with pytest.raises(ValueError, match=r"key 'W1' has shape \(6, 5\).*has shape \(6, 7\)"):
        other.load_params(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.params["W1"], before)  # nothing changed


def test_load_params_with_missing_keys_names_them(tmp_path):
    MultiLayerNet(6, [5], 3, rng=0).save_params(tmp_path / "w.npz")
    with pytest.raises(ValueError, match=r"missing keys \['W3', 'b3'\]"):
        MultiLayerNet(6, [5, 5], 3, rng=0).load_params(tmp_path / "w.npz")


def test_summary_and_repr_list_layers_and_counts():
    net = MultiLayerNet(784, [100], 10)
    text = net.summary()
    assert "Affine1: Affine(784 -> 100)" in text and "78500" in text and "79510" in text
    assert "(Relu1): Relu()" in repr(net)


def test_two_layer_net_is_the_first_articles_network():
    net = TwoLayerNet(784, 50, 10, rng=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert list(net.layers) == ["Affine1", "Sigmoid1", "Affine2"]
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.02)


def test_two_layer_net_gradient_matches_numerical():
    rng = np.random.default_rng(11)
    net = TwoLayerNet(5, 4, 3, weight_init_std=0.5, rng=1)
    check_net_gradient(net, rng.standard_normal((3, 5)), rng.integers(0, 3, 3))


def test_training_a_tiny_net_lowers_the_loss():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((60, 2))
    t = (x[:, 0] * x[:, 1] > 0).astype(int)
    net = MultiLayerNet(2, [16], 2, rng=13)
    opt = SGD(lr=0.5)
    first = net.loss(x, t)
    for _ in range(300):
        opt.update(net.params, net.gradient(x, t))
    assert net.loss(x, t) < 0.5 * first
    assert net.accuracy(x, t) > 0.9


def test_numerical_gradient_leaves_running_statistics_alone():
    rng = np.random.default_rng(13)
    net = MultiLayerNet(6, [5], 3, use_batchnorm=True, rng=14)
    before = net.layers["BatchNorm1"].running_mean.copy()
    net.numerical_gradient(*tiny_batch(rng))
    np.testing.assert_array_equal(net.layers["BatchNorm1"].running_mean, before)


@pytest.mark.parametrize("kwargs, match", [
    ({"hidden_size_list": [5, 0]}, r"hidden_size_list\[1\] must be an integer >= 1, got 0"),
    ({"hidden_size_list": [2.5]}, r"hidden_size_list\[0\] must be an integer >= 1, got 2.5"),
    ({"input_size": 0}, r"input_size must be an integer >= 1, got 0"),
    ({"activation": "mish"}, r"unknown activation 'mish'"),
    ({"weight_init_std": "lecun"}, r"weight_init_std: unknown name 'lecun'"),
    ({"weight_init_std": -1.0}, r"weight_init_std must be a positive number"),
    ({"weight_decay_lambda": -0.1}, r"weight_decay_lambda must be >= 0, got -0.1"),
    ({"use_dropout": True, "dropout_ratio": 1.0}, r"dropout_ratio must be in \[0, 1\), got 1.0"),
    ({"dtype": np.int32}, r"dtype must be float32 or float64, got int32"),
    ({"loss": "hinge"}, r"unknown loss 'hinge'"),
])
def test_multi_layer_net_rejects_bad_arguments(kwargs, match):
    args = {"input_size": 4, "hidden_size_list": [3], "output_size": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        MultiLayerNet(**args)


def test_net_rejects_bad_inputs_with_the_layer_name():
    net = MultiLayerNet(4, [3], 2, rng=0)
    with pytest.raises(ValueError, match=r"Affine\(4 -> 3\).*5 features"):
        net.loss(np.zeros((2, 5)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss: 3 labels for a batch of 2"):
        net.loss(np.zeros((2, 4)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"accuracy: label 2 is outside \[0, 2\)"):
        net.accuracy(np.zeros((2, 4)), np.array([0, 2]))
    with pytest.raises(ValueError, match=r"accuracy: empty batch"):
        net.accuracy(np.zeros((0, 4)), np.zeros(0, int))
