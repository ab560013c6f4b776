import time

import numpy as np
import pytest

from bprop.layers import BatchNormalization, Convolution, Layer
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import DeepConvNet, SimpleConvNet
from bprop.optim import Adam
from conftest import real_data_folder


def tiny_simple(**kw):
    args = dict(input_dim=(1, 6, 6), conv_param={"filter_num": 2, "filter_size": 3},
                hidden_size=4, output_size=3, weight_init_std=0.3, rng=0)
    args.update(kw)
    return SimpleConvNet(**args)


def tiny_deep(**kw):
    convs = [{"filter_num": 2, "filter_size": 3, "pad": 1}, {"filter_num": 3, "filter_size": 3, "pad": 1}] * 2
    args = dict(input_dim=(1, 8, 8), conv_params=convs, hidden_size=5, output_size=3, dropout_ratio=0.3, rng=1)
    args.update(kw)
    return DeepConvNet(**args)


def check_net_gradient(net, x, t):
    # Non-zero biases: with zero biases a window of dead ReLUs gives exactly 0 into the
    # next ReLU, a kink where the central difference is meaningless.
    rng = np.random.default_rng(99)
    for k, p in net.params.items():
        if k.startswith("b"):
            p[...] = rng.uniform(0.1, 0.5, p.shape) * rng.choice([-1, 1], p.shape)
    grads, numeric = net.gradient_check(x, t)
    assert list(grads) == list(net.params)
    assert_gradients_close(grads, numeric)


def test_simple_conv_net_gradient_matches_numerical_on_a_tiny_instance():
    rng = np.random.default_rng(0)
    check_net_gradient(tiny_simple(), rng.standard_normal((3, 1, 6, 6)), rng.integers(0, 3, 3))


def test_simple_conv_net_gradient_matches_numerical_with_pad_stride_channels_and_weight_decay():
    rng = np.random.default_rng(1)
    net = tiny_simple(input_dim=(2, 7, 11), conv_param={"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 2},
                      weight_decay_lambda=0.1)
    assert net.layers["Conv1"].forward(np.zeros((1, 2, 7, 11))).shape == (1, 3, 4, 6)
    t = np.eye(3)[rng.integers(0, 3, 2)]  # one-hot labels
    check_net_gradient(net, rng.standard_normal((2, 2, 7, 11)), t)


def test_deep_conv_net_gradient_matches_numerical_with_dropout():
    rng = np.random.default_rng(2)
    check_net_gradient(tiny_deep(), rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 3, 3))


class ConvBatchNorm(Layer):
    """Convolution followed by BatchNormalization, checked as one layer."""

    param_names = ("W", "b", "gamma", "beta")

    def __init__(self, rng, c, fn):
        self.conv = Convolution(rng.standard_normal((fn, c, 3, 3)), rng.standard_normal(fn), pad=1)
        self.bn = BatchNormalization(rng.standard_normal(fn), rng.standard_normal(fn))
        self.W, self.b, self.gamma, self.beta = self.conv.W, self.conv.b, self.bn.gamma, self.bn.beta

    def forward(self, x, train=True):
        return self.bn.forward(self.conv.forward(x, train), train)

    def backward(self, dout):
        dx = self.conv.backward(self.bn.backward(dout))
        self.dW, self.db, self.dgamma, self.dbeta = self.conv.dW, self.conv.db, self.bn.dgamma, self.bn.dbeta
        return dx

    def state(self):
        return self.bn.state()

    def set_state(self, state):
        self.bn.set_state(state)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_on_4d_convolution_output_matches_numerical(train):
    # The convolution hands BatchNormalization a (N, C, H, W) view of channels-last
    # memory; the per-channel statistics and gradients must not care.
    rng = np.random.default_rng(3)
    layer = ConvBatchNorm(rng, 2, 3)
    layer.forward(rng.standard_normal((4, 2, 5, 4)))  # move the running statistics
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((3, 2, 5, 4)), rng=rng, train=train)
    assert_gradients_close(analytic, numeric)


def test_simple_conv_net_params_layers_and_references():
    net = SimpleConvNet(rng=0)
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (30 * 12 * 12, 100), "b2": (100,),
                      "W3": (100, 10), "b3": (10,)}
    # pooling before ReLU: the same function, a quarter of the ReLU work
    assert list(net.layers) == ["Conv1", "Pool1", "Relu1", "Affine1", "Relu2", "Affine2"]
    assert repr(net.layers["Conv1"]) == "Convolution(1 -> 30, kernel=5x5, stride=1, pad=0)"
    assert net.layers["Conv1"].W is net.params["W1"] and net.layers["Affine2"].b is net.params["b3"]
    assert np.std(net.params["W1"]) == pytest.approx(0.01, rel=0.1)


def test_optimizer_step_moves_the_layers_weights_in_place():
    net = tiny_simple()
    rng = np.random.default_rng(4)
    before = net.params["W1"].copy()
    Adam(lr=0.01).update(net.params, net.gradient(rng.standard_normal((2, 1, 6, 6)), [0, 1]))
    assert net.layers["Conv1"].W is net.params["W1"]
    assert not np.array_equal(net.layers["Conv1"].W, before)


def test_deep_conv_net_default_shapes_and_he_init():
    net = DeepConvNet(rng=0)
    assert [net.params[f"W{i}"].shape[0] for i in range(1, 7)] == [16, 16, 32, 32, 64, 64]
    assert net.params["W7"].shape == (64 * 4 * 4, 50) and net.params["W8"].shape == (50, 10)
    assert np.std(net.params["W6"]) == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.05)
    assert [k for k in net.layers if k.startswith(("Pool", "Dropout"))] == \
        ["Pool1", "Pool2", "Pool3", "Dropout1", "Dropout2"]
    assert net.predict(np.zeros((2, 1, 28, 28))).shape == (2, 10)


@pytest.mark.parametrize("make", [tiny_simple, tiny_deep])
def test_conv_nets_keep_float32_throughout(make):
    net = make(dtype=np.float32)
    size = net.input_shape
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4,) + size).astype(np.float32)
    loss, grads = net.loss_and_gradient(x, [0, 1, 2, 0])
    assert np.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.predict(x).dtype == np.float32


def test_conv_nets_accept_flat_rows():
    net = tiny_simple()
    x = np.random.default_rng(6).standard_normal((2, 1, 6, 6))
    np.testing.assert_array_equal(net.predict(x.reshape(2, 36)), net.predict(x))


def test_same_seed_same_network():
    a, b = tiny_deep(rng=7), tiny_deep(rng=7)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_conv_net_save_and_load_round_trip(tmp_path):
    net, other = tiny_simple(rng=8), tiny_simple(rng=9)
    net.save_params(tmp_path / "w.npz")
    other.load_params(tmp_path / "w.npz")
    x = np.random.default_rng(10).standard_normal((3, 1, 6, 6))
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    assert other.layers["Conv1"].W is other.params["W1"]


@pytest.mark.parametrize("kw, out_hw", [
    ({"conv_param": {"filter_size": 3, "stride": 2}}, 1),   # 6x6 -> 2x2 (PyTorch: (6-3)//2+1) -> pool 1x1
    ({"conv_param": {"filter_size": 2}}, 2),                # 5x5 -> pool 2x2, the last row and column dropped
])
def test_simple_conv_net_takes_pytorch_output_sizes(kw, out_hw):
    net = tiny_simple(**kw)
    assert net.shapes["Pool1"] == (30, out_hw, out_hw)
    assert net.params["W2"].shape == (30 * out_hw * out_hw, 4)


def test_conv_net_summary_lists_every_layer():
    text = tiny_simple().summary()
    assert "Conv1: Convolution(1 -> 2, kernel=3x3, stride=1, pad=0)" in text
    assert "(None, 2, 2, 2)" in text and text.rstrip().endswith(str(tiny_simple().n_params()))


@pytest.mark.parametrize("kw, match", [
    # 6x6 -> conv 3x3 stride 4 -> 1x1: the pooling's 2x2 window no longer fits
    ({"conv_param": {"filter_size": 3, "stride": 4}},
     r"layer 'Pool1' does not fit its input of shape \(30, 1, 1\).*window 2x2 is larger than the padded input 1x1"),
    ({"conv_param": {"filter_size": 9}},
     r"layer 'Conv1' does not fit its input of shape \(1, 6, 6\).*window 9x9 is larger than the padded input 6x6"),
    ({"conv_param": {"filters": 3}}, r"unknown conv_param keys \['filters'\]"),
    ({"conv_param": {"filter_num": 0}}, r"conv_param\['filter_num'\] must be an integer >= 1, got 0"),
    ({"input_dim": (6, 6)}, r"input_dim must be \(C, H, W\)"),
    ({"hidden_size": 0}, "hidden_size must be an integer >= 1"),
    ({"dtype": np.int32}, "dtype must be float32 or float64"),
    ({"weight_init_std": "uniform"}, "unknown name 'uniform'"),
    ({"weight_decay_lambda": -1}, "weight_decay_lambda must be >= 0"),
])
def test_simple_conv_net_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny_simple(**kw)


@pytest.mark.parametrize("kw, match", [
    ({"conv_params": [{"filter_num": 2, "filter_size": 3, "pad": 1}]}, "even number >= 2"),
    ({"dropout_ratio": 1.0}, r"dropout_ratio must be in \[0, 1\)"),
    # 2x2 -> Pool1 1x1: Pool2's 2x2 window no longer fits
    ({"input_dim": (1, 2, 2)}, r"layer 'Pool2' does not fit its input of shape \(3, 1, 1\)"),
])
def test_deep_conv_net_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny_deep(**kw)


def mnist_or_skip():
    """MNIST from $BPROP_DATA (:func:`conftest.real_data_folder`: skips without it, fails under CI)."""
    from bprop.datasets import load_mnist

    root = real_data_folder("mnist").parent
    return load_mnist(flatten=False, dtype=np.float32, root=root, download=False, verbose=0)


def test_simple_conv_net_reaches_94_percent_on_mnist_quickly():
    """One pass over 15000 images (300 Adam steps of 50) gives 0.958 on the first 2000 test
    images, with OpenBLAS's Haswell and SkylakeX kernels alike (seeds 1 and 2: 0.955, 0.9455);
    chance is 0.10, and the same pass with the convolution frozen at its random filters gives
    0.923. (One pass over 50000 images gives about 0.98.)"""
    (x_train, t_train), (x_test, t_test) = mnist_or_skip()
    n_train, batch = 15000, 50
    rng = np.random.default_rng(0)
    net = SimpleConvNet(weight_init_std="he", dtype=np.float32, rng=rng)
    optimizer = Adam(lr=0.002)
    start = time.perf_counter()
    order = rng.permutation(len(x_train))[:n_train]  # a random subset, shuffled
    for i in range(0, n_train, batch):
        index = order[i:i + batch]
        _, grads = net.loss_and_gradient(x_train[index], t_train[index])
        optimizer.update(net.params, grads)
    acc = net.accuracy(x_test[:2000], t_test[:2000], batch_size=500)
    elapsed = time.perf_counter() - start
    assert acc >= 0.94, f"test accuracy {acc:.4f} after {elapsed:.1f} s"


@pytest.mark.parametrize("make", [tiny_simple, tiny_deep])
def test_pooling_before_relu_is_bit_identical_to_the_textbook_order(make):
    import copy
    from collections import OrderedDict

    from bprop.networks import Sequential

    net = make()
    # the same layers (copied, same weights and dropout streams) in the textbook's order
    names = list(net.layers)
    for i, name in enumerate(names[:-1]):
        if name.startswith("Pool") and names[i + 1].startswith("Relu"):
            names[i], names[i + 1] = names[i + 1], names[i]
    layers = copy.deepcopy(net.layers)
    textbook = Sequential(OrderedDict((n, layers[n]) for n in names), input_shape=net.input_shape)
    assert [n for n in textbook.layers if n[:4] in ("Relu", "Pool")].index("Pool1") == \
        [n for n in net.layers if n[:4] in ("Relu", "Pool")].index("Pool1") + 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4,) + net.input_shape)
    x[0] = -1.0  # windows that are all negative: ReLU makes them ties of zeros
    t = rng.integers(0, 3, 4)
    loss, grads = net.loss_and_gradient(x, t)
    ref_loss, ref_grads = textbook.loss_and_gradient(x, t)
    assert loss == ref_loss
    for k in grads:
        np.testing.assert_array_equal(grads[k], ref_grads[k])
