"""Residual (y = F(x) + x, or F(x) + P(x)) and Chain, alone and inside a Sequential."""

from collections import OrderedDict

import numpy as np
import pytest

from bprop.layers import (
    Affine,
    BackwardBeforeForwardError,
    BatchNormalization,
    Convolution,
    Dropout,
    Flatten,
    Pooling,
    Relu,
    make_rng,
)
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import Sequential
from bprop.networks.residual import Residual
from bprop.optim import SGD, Adam, Trainer


def affine(rng, d, m):
    return Affine(rng.standard_normal((d, m)), rng.standard_normal(m))


def conv(rng, c, fn, k, stride=1, pad=0):
    return Convolution(rng.standard_normal((fn, c, k, k)), rng.standard_normal(fn), stride=stride, pad=pad)


# --- forward and backward by hand ---------------------------------------------------------
def test_residual_of_one_affine_forward_and_backward_hand_values():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer = Residual(Affine(W, np.array([0.5, -1.0])))
    x = np.array([[1.0, -1.0], [2.0, 0.0]])
    y = layer.forward(x)
    # x W + b = [[-2 + 0.5, -2 - 1], [2 + 0.5, 4 - 1]], then + x
    np.testing.assert_array_equal(y, [[-1.5 + 1, -3.0 - 1], [2.5 + 2, 3.0 + 0]])
    dx = layer.backward(np.array([[1.0, 0.0], [0.0, 1.0]]))
    # dout W^T + dout
    np.testing.assert_array_equal(dx, [[1 + 1, 3 + 0], [2 + 0, 4 + 1]])
    np.testing.assert_array_equal(layer.block.dW, x.T @ np.eye(2))


def test_residual_with_an_affine_projection_hand_values():
    block = Affine(np.array([[1.0], [1.0]]), np.array([0.0]))        # (N, 2) -> (N, 1): x1 + x2
    projection = Affine(np.array([[2.0], [0.0]]), np.array([1.0]))  # 2 x1 + 1
    layer = Residual(block, projection=projection)
    y = layer.forward(np.array([[1.0, 3.0]]))
    np.testing.assert_array_equal(y, [[4.0 + 3.0]])
    dx = layer.backward(np.array([[2.0]]))
    np.testing.assert_array_equal(dx, [[2.0 + 4.0, 2.0 + 0.0]])
    np.testing.assert_array_equal(projection.dW, [[2.0], [6.0]])


# --- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("train", [True, False])
def test_residual_mlp_block_with_batch_norm_backward_matches_numerical(train):
    rng = np.random.default_rng(0)
    layer = Residual([affine(rng, 4, 5), BatchNormalization(5), Relu(), affine(rng, 5, 4)])
    layer.forward(rng.standard_normal((6, 4)))  # moves the running statistics off 0 and 1
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((6, 4)), rng=rng, train=train)
    assert sorted(numeric) == ["block.Affine1.W", "block.Affine1.b", "block.Affine2.W", "block.Affine2.b",
                               "block.BatchNorm1.beta", "block.BatchNorm1.gamma", "x"]
    assert_gradients_close(analytic, numeric)


def test_residual_conv_block_with_a_strided_1x1_projection_backward_matches_numerical():
    rng = np.random.default_rng(1)
    block = [conv(rng, 2, 3, 3, stride=2, pad=1), BatchNormalization(3), Relu(), conv(rng, 3, 3, 3, pad=1)]
    layer = Residual(block, projection=[conv(rng, 2, 3, 1, stride=2), BatchNormalization(3)])
    x = rng.standard_normal((2, 2, 5, 5))
    assert layer.output_shape((2, 5, 5)) == (3, 3, 3)
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert {"x", "block.Conv1.W", "block.Conv2.b", "projection.Conv1.W", "projection.BatchNorm1.gamma"} \
        <= set(numeric)
    assert_gradients_close(analytic, numeric)


def test_residual_backward_leaves_dout_unchanged_and_returns_a_new_array():
    rng = np.random.default_rng(2)
    layer = Residual([affine(rng, 3, 3), Relu()])
    layer.forward(rng.standard_normal((2, 3)))
    dout = rng.standard_normal((2, 3))
    before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, before)
    assert not np.shares_memory(dx, dout)


# --- misuse ------------------------------------------------------------------------------------
def test_a_block_that_changes_the_shape_needs_a_projection_and_the_error_names_both_shapes():
    layer = Residual(Affine(4, 3))
    with pytest.raises(ValueError, match=r"Residual: the block's output shape \(3,\) differs from the identity "
                                         r"shortcut's \(the input's\) \(4,\); give a projection"):
        layer.output_shape((4,))
    with pytest.raises(ValueError, match=r"Residual: the block's output shape \(2, 3\) differs"):
        layer.forward(np.zeros((2, 4)))


def test_a_projection_of_the_wrong_shape_is_refused_naming_both_shapes():
    layer = Residual(Affine(4, 3), projection=Affine(4, 5))
    with pytest.raises(ValueError, match=r"block's output shape \(3,\) differs from the projection's output "
                                         r"shape \(5,\) for the input shape \(4,\)"):
        layer.output_shape((4,))


def test_a_sequential_refuses_a_residual_that_does_not_fit_when_it_is_built():
    with pytest.raises(ValueError, match=r"Sequential: layer 'Residual1' does not fit its input of shape "
                                         r"\(4,\): Residual: the block's output shape \(3,\)"):
        Sequential([Affine(4, 4), Residual(Affine(4, 3)), Affine(3, 2)])


@pytest.mark.parametrize("block, projection, match", [
    ("relu", None, r"Residual: block must be a bprop layer or a list or OrderedDict of layers, got str"),
    ([], None, r"Chain: needs at least one layer"),
    ([Affine(2, 2), "relu"], None, r"layers\[1\] is not a bprop layer: 'relu'"),
    (Affine(2, 2), 3, r"Residual: projection must be a bprop layer or a list .* got int"),
    (Affine(2, 2, input_grad=False), None, r"Residual: layer 'block' \(Affine\(2 -> 2\)\) has input_grad=False"),
    ([Relu(), Affine(2, 2, input_grad=False)], None, r"Chain: layer 'Affine1' .* has input_grad=False"),
])
def test_bad_blocks_and_projections_are_refused(block, projection, match):
    with pytest.raises(ValueError, match=match):
        Residual(block, projection=projection)


def test_a_network_is_refused_as_a_block_with_the_reason():
    with pytest.raises(ValueError, match=r"got Sequential \(a network holds a loss layer"):
        Residual(Sequential([Affine(2, 2)]))


def test_one_layer_object_in_two_places_is_refused():
    shared = Affine(2, 2)
    with pytest.raises(ValueError, match=r"Residual: layer Affine\(2 -> 2\) inside 'projection' is the same "
                                         r"object as Affine\(2 -> 2\) inside 'block'"):
        Residual([shared, Relu()], projection=[shared])
    inner = Affine(2, 2)
    with pytest.raises(ValueError, match=r"Sequential: layer 'Affine1' is the same object as .* inside 'Residual1'"):
        Sequential(OrderedDict([("Residual1", Residual([inner])), ("Affine1", inner)]))


def test_backward_before_forward_and_a_wrong_dout_are_refused():
    layer = Residual(Affine(2, 2))
    with pytest.raises(BackwardBeforeForwardError, match="Residual.backward was called before Residual.forward"):
        layer.backward(np.zeros((1, 2)))
    layer.forward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"Residual.backward: dout has shape \(3, 4\), expected \(3, 2\)"):
        layer.backward(np.zeros((3, 4)))


def test_repr_shows_the_block_and_the_shortcut():
    assert repr(Residual(Affine(2, 2))) == "Residual(Affine(2 -> 2), shortcut=identity)"
    assert repr(Residual([Affine(2, 2), Relu()], projection=Affine(2, 2))) == \
        "Residual(Chain(Affine(2 -> 2), Relu()), shortcut=Affine(2 -> 2))"


# --- inside a network ------------------------------------------------------------------------
def resnet_mlp(rng=0, init="he"):
    return Sequential([
        Affine(4, 6),
        Residual([Affine(6, 6), BatchNormalization(6), Relu(), Affine(6, 6)]),
        Relu(),
        Residual([Affine(6, 3), Relu()], projection=Affine(6, 3)),
        Affine(3, 3),
    ], init=init, rng=rng)


def test_inner_parameters_are_numbered_as_in_the_flat_chain_and_are_the_layers_arrays():
    net = resnet_mlp()
    assert list(net.params) == ["W1", "b1", "W2", "b2", "gamma1", "beta1", "W3", "b3", "W4", "b4",
                                "W5", "b5", "W6", "b6"]
    res1, res2 = net.layers["Residual1"], net.layers["Residual2"]
    assert net.params["W3"] is res1.block.sublayers()["Affine2"].W
    assert net.params["W5"] is res2.projection.W
    assert net._decay_keys == ["W1", "W2", "W3", "W4", "W5", "W6"]
    assert list(net.state_dict())[-2:] == ["Residual1.block.BatchNorm1.running_mean",
                                           "Residual1.block.BatchNorm1.running_var"]


def test_init_draws_the_weights_of_the_layers_inside_in_the_order_of_the_flat_chain():
    nested = resnet_mlp(rng=5)
    flat = [Affine(4, 6), Affine(6, 6), BatchNormalization(6), Affine(6, 6), Affine(6, 3), Affine(6, 3),
            Affine(3, 3)]
    rng = make_rng(5)
    for layer in flat:
        layer.reset_parameters("he", rng)
    drawn = [p for layer in flat for p in layer.params().values()]
    assert len(drawn) == len(nested.params)
    for value, (key, param) in zip(drawn, nested.params.items()):
        np.testing.assert_array_equal(param, value, err_msg=key)


def random_biases(net, rng):
    """Nonzero biases, so that no Relu sits at its kink for a row a Relu before it zeroed."""
    for key, (layer, attr) in net._buffers.owners.items():
        if attr in ("b", "beta"):
            net.params[key] = 0.1 * rng.standard_normal(net.params[key].shape)


def test_a_sequential_with_residual_blocks_gradient_checks():
    rng = np.random.default_rng(3)
    net = resnet_mlp(rng=3)
    random_biases(net, rng)
    analytic, numeric = net.gradient_check(rng.standard_normal((5, 4)), rng.integers(0, 3, 5))
    assert_gradients_close(analytic, numeric)


def test_a_conv_resnet_with_weight_decay_gradient_checks():
    rng = np.random.default_rng(4)
    net = Sequential([
        Convolution(1, 2, 3, pad=1),
        Residual([Convolution(2, 2, 3, pad=1), BatchNormalization(2), Relu(), Convolution(2, 2, 3, pad=1)]),
        Residual([Convolution(2, 3, 3, stride=2, pad=1), Relu()], projection=Convolution(2, 3, 1, stride=2)),
        Pooling(2, 2, stride=2), Flatten(), Affine(3, 2),
    ], input_shape=(1, 4, 4), init="he", rng=4, weight_decay_lambda=0.1)
    random_biases(net, rng)
    assert net.shapes["Residual2"] == (3, 2, 2)
    assert net._splits_work
    analytic, numeric = net.gradient_check(rng.standard_normal((3, 1, 4, 4)), rng.integers(0, 2, 3))
    assert_gradients_close(analytic, numeric)


def test_train_reaches_the_batch_norm_inside_a_block():
    rng = np.random.default_rng(5)
    net = resnet_mlp(rng=5)
    x = rng.standard_normal((8, 4))
    bn = net.layers["Residual1"].block.sublayers()["BatchNorm1"]
    before = bn.running_mean.copy()
    net.predict(x, train=False)
    np.testing.assert_array_equal(bn.running_mean, before)
    net.predict(x, train=True)
    assert not np.array_equal(bn.running_mean, before)


def test_state_dict_of_a_residual_network_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(6)
    net = resnet_mlp(rng=6)
    x = rng.standard_normal((8, 4))
    net.loss_and_gradient(x, rng.integers(0, 3, 8))  # moves the running statistics
    net.save_params(tmp_path / "resnet.npz")
    other = resnet_mlp(rng=7)
    other.load_params(tmp_path / "resnet.npz")
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))


@pytest.mark.parametrize("optimizer", [SGD(lr=0.1), Adam(lr=0.01)])
def test_an_optimizer_step_moves_the_layers_inside_and_they_keep_the_networks_arrays(optimizer):
    rng = np.random.default_rng(8)
    net = resnet_mlp(rng=8)
    inner = net.layers["Residual1"].block.sublayers()["Affine1"]
    before = inner.W.copy()
    _, grads = net.loss_and_gradient(rng.standard_normal((6, 4)), rng.integers(0, 3, 6))
    optimizer.update(net.params, grads)
    assert inner.W is net.params["W2"]
    assert not np.array_equal(inner.W, before)


def test_a_trainer_resumes_a_residual_network_with_dropout_inside_bit_for_bit(tmp_path):
    rng = np.random.default_rng(9)
    x, t = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)

    def trainer(epochs, checkpoint=None, resume=False):
        net = Sequential([Affine(4, 6), Residual([Affine(6, 6), BatchNormalization(6), Relu(),
                                                  Dropout(0.3, rng=2), Affine(6, 6)]), Affine(6, 3)],
                         init="he", rng=1)
        return Trainer(net, Adam(lr=0.01), (x, t), epochs=epochs, batch_size=16, rng=3, verbose=0,
                       checkpoint=checkpoint, resume=resume)

    whole = trainer(3)
    whole.fit()
    path = tmp_path / "resnet_checkpoint.npz"
    trainer(2, checkpoint=path).fit()
    resumed = trainer(3, checkpoint=path, resume=True)
    assert resumed.epochs_done == 2
    resumed.fit()
    for key, value in whole.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[key], value, err_msg=key)


def test_a_float32_network_with_residual_blocks_keeps_float32_through_them():
    rng = np.random.default_rng(10)
    net = Sequential([Affine(4, 4), Residual([Affine(4, 4), Relu()], projection=[Affine(4, 4)]), Affine(4, 3)],
                     dtype=np.float32, init="he", rng=0)
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.layers["Residual1"].projection.sublayers()["Affine1"].W.dtype == np.float32
    x = rng.standard_normal((5, 4))
    assert net.predict(x).dtype == np.float32
    _, grads = net.loss_and_gradient(x, rng.integers(0, 3, 5))
    assert all(g.dtype == np.float32 for g in grads.values())
