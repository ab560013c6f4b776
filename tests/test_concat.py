"""Concat: branches on one input, outputs joined along an axis, alone and inside a Sequential."""

import numpy as np
import pytest

from bprop.layers import (
    Affine,
    BackwardBeforeForwardError,
    BatchNormalization,
    Convolution,
    Flatten,
    Pooling,
    Relu,
    Tanh,
    TimeAffine,
)
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import Sequential
from bprop.networks.concat import Concat
from bprop.networks.residual import Residual
from bprop.optim import SGD


def conv(rng, c, fn, k, stride=1, pad=0):
    return Convolution(rng.standard_normal((fn, c, k, k)), rng.standard_normal(fn), stride=stride, pad=pad)


def test_concat_of_two_affines_forward_and_backward_hand_values():
    first = Affine(np.array([[1.0], [2.0]]), np.array([1.0]))               # x1 + 2 x2 + 1
    second = Affine(np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([0.0, 0.0]))  # (x1, -x2)
    layer = Concat([first, second])
    y = layer.forward(np.array([[3.0, 4.0]]))
    np.testing.assert_array_equal(y, [[12.0, 3.0, -4.0]])
    dx = layer.backward(np.array([[1.0, 10.0, 100.0]]))
    # the first branch gives 1 * (1, 2), the second (10, -100): their sum
    np.testing.assert_array_equal(dx, [[1.0 + 10.0, 2.0 - 100.0]])
    np.testing.assert_array_equal(second.dW, [[30.0, 300.0], [40.0, 400.0]])


def test_inception_style_image_branches_join_on_the_channel_axis_and_backprop_matches_numerical():
    rng = np.random.default_rng(0)
    layer = Concat([
        conv(rng, 2, 3, 1),
        [conv(rng, 2, 2, 1), Relu(), conv(rng, 2, 4, 3, pad=1)],
        [Pooling(3, 3, stride=1, pad=1), conv(rng, 2, 1, 1)],
    ])
    assert layer.output_shape((2, 4, 4)) == (8, 4, 4)
    x = rng.standard_normal((2, 2, 4, 4))
    assert layer.forward(x).shape == (2, 8, 4, 4)
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert {"x", "branch1.W", "branch2.Conv2.b", "branch3.Conv1.W"} <= set(numeric)
    assert_gradients_close(analytic, numeric)


def test_sequence_branches_join_on_the_last_axis_and_backprop_matches_numerical():
    rng = np.random.default_rng(1)
    layer = Concat([TimeAffine(3, 2, rng=1), [TimeAffine(3, 4, rng=2), Tanh()]], axis=-1)
    assert layer.output_shape((5, 3)) == (5, 6)
    x = rng.standard_normal((2, 5, 3))
    np.testing.assert_allclose(layer.forward(x)[:, :, :2], x @ layer.branches[0].W + layer.branches[0].b)
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert_gradients_close(analytic, numeric)


def test_vector_branches_with_batch_norm_backprop_matches_numerical_in_both_modes():
    rng = np.random.default_rng(2)
    layer = Concat([[Affine(4, 3, rng=3), BatchNormalization(3)], Affine(4, 2, rng=4)])
    layer.forward(rng.standard_normal((6, 4)))  # moves the running statistics
    for train in (True, False):
        analytic, numeric = check_layer_gradient(layer, rng.standard_normal((6, 4)), rng=rng, train=train)
        assert_gradients_close(analytic, numeric)


def test_concat_backward_leaves_dout_unchanged():
    rng = np.random.default_rng(3)
    layer = Concat([Affine(3, 2, rng=0), Relu()])
    layer.forward(rng.standard_normal((4, 3)))
    dout = rng.standard_normal((4, 5))
    before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, before)


@pytest.mark.parametrize("branches, axis, match", [
    ([Affine(2, 2)], 1, r"Concat: needs at least 2 branches, got 1"),
    (Affine(2, 2), 1, r"Concat: branches must be a list of layers or of lists of layers, got Affine"),
    ([Affine(2, 2), Affine(2, 2)], 0, r"Concat: axis must be a non-zero integer \(0 is the batch axis\), got 0"),
    ([Affine(2, 2), Affine(2, 2)], 1.0, r"Concat: axis must be a non-zero integer .* got 1.0"),
    ([Affine(2, 2), Affine(2, 2)], True, r"Concat: axis must be a non-zero integer .* got True"),
    ([Affine(2, 2), "relu"], 1, r"Concat: branch 2 must be a bprop layer or a list or OrderedDict of layers, got str"),
    ([Affine(2, 2), Affine(2, 2, input_grad=False)], 1, r"Concat: layer 'branch2' .* has input_grad=False"),
])
def test_bad_branches_and_axes_are_refused(branches, axis, match):
    with pytest.raises(ValueError, match=match):
        Concat(branches, axis=axis)


def test_branches_that_disagree_off_the_axis_are_refused_naming_every_shape():
    rng = np.random.default_rng(4)
    layer = Concat([conv(rng, 1, 2, 3), conv(rng, 1, 2, 3, pad=1)])
    with pytest.raises(ValueError, match=r"Concat: the branches' outputs must agree on every axis but axis 1 to be "
                                         r"joined along it, got branch1 \(1, 2, 2, 2\), branch2 \(1, 2, 4, 4\)"):
        layer.output_shape((1, 4, 4))
    with pytest.raises(ValueError, match=r"got branch1 \(3, 2, 2, 2\), branch2 \(3, 2, 4, 4\)"):
        layer.forward(rng.standard_normal((3, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"Sequential: layer 'Concat1' does not fit its input of shape \(1, 4, 4\)"):
        Sequential([Concat([Convolution(1, 2, 3), Convolution(1, 2, 3, pad=1)]), Flatten(), Affine(8, 2)],
                   input_shape=(1, 4, 4))


def test_an_axis_the_outputs_do_not_have_is_refused():
    layer = Concat([Affine(2, 2), Affine(2, 3)], axis=2)
    with pytest.raises(ValueError, match=r"Concat: axis 2 is not a feature axis of the branches' outputs, which "
                                         r"have 2 axes with the batch axis"):
        layer.output_shape((2,))
    with pytest.raises(ValueError, match=r"Concat: axis -2 is not a feature axis"):
        Concat([Affine(2, 2), Affine(2, 3)], axis=-2).forward(np.zeros((1, 2)))


def test_backward_before_forward_and_a_wrong_dout_are_refused():
    layer = Concat([Affine(2, 2), Affine(2, 1)])
    with pytest.raises(BackwardBeforeForwardError, match="Concat.backward was called before Concat.forward"):
        layer.backward(np.zeros((1, 3)))
    layer.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"Concat.backward: dout has shape \(4, 2\), expected \(4, 3\)"):
        layer.backward(np.zeros((4, 2)))


def test_repr_lists_the_branches_and_the_axis():
    assert repr(Concat([Affine(2, 2), [Affine(2, 1), Relu()]])) == \
        "Concat(Affine(2 -> 2), Chain(Affine(2 -> 1), Relu()), axis=1)"


# --- inside a network ------------------------------------------------------------------------
def inception_net(rng=0):
    return Sequential([
        Convolution(1, 2, 3, pad=1),
        Concat([
            Convolution(2, 2, 1),
            [Convolution(2, 2, 1), BatchNormalization(2), Relu(), Convolution(2, 3, 3, pad=1)],
            Residual([Convolution(2, 2, 3, pad=1), Relu()]),
        ]),
        Relu(), Pooling(2, 2, stride=2), Flatten(), Affine(28, 3),
    ], input_shape=(1, 4, 4), init="he", rng=rng)


def test_an_inception_network_numbers_its_parameters_branch_by_branch_and_gradient_checks():
    rng = np.random.default_rng(5)
    net = inception_net(rng=5)
    assert net.shapes["Concat1"] == (7, 4, 4)
    assert list(net.params) == ["W1", "b1", "W2", "b2", "W3", "b3", "gamma1", "beta1", "W4", "b4",
                                "W5", "b5", "W6", "b6"]
    for key, (layer, attr) in net._buffers.owners.items():
        if attr == "b":  # nonzero biases: no Relu at its kink
            net.params[key] = 0.1 * rng.standard_normal(net.params[key].shape)
    analytic, numeric = net.gradient_check(rng.standard_normal((3, 1, 4, 4)), rng.integers(0, 3, 3))
    assert_gradients_close(analytic, numeric)


def test_an_inception_network_round_trips_its_state_dict_and_an_optimizer_moves_its_branches(tmp_path):
    rng = np.random.default_rng(6)
    net = inception_net(rng=6)
    x, t = rng.standard_normal((4, 1, 4, 4)), rng.integers(0, 3, 4)
    assert "Concat1.branch2.BatchNorm1.running_var" in net.state_dict()
    branch = net.layers["Concat1"].branches[1].sublayers()["Conv2"]
    before = branch.W.copy()
    _, grads = net.loss_and_gradient(x, t)
    SGD(lr=0.1).update(net.params, grads)
    assert branch.W is net.params["W4"]
    assert not np.array_equal(branch.W, before)
    net.save_params(tmp_path / "inception.npz")
    other = inception_net(rng=7)
    other.load_params(tmp_path / "inception.npz")
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
