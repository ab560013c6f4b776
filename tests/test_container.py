"""Container (layers built from sublayers), Layer.walk, Chain, and how a network binds the layers inside."""

from collections import OrderedDict

import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError, BatchNormalization, Convolution, Dropout, Relu, make_rng
from bprop.layers.container import Container, check_passes_gradient, check_sublayers
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import Sequential
from bprop.networks.chain import Chain, as_layer
from bprop.networks.param_buffer import ParamBuffer


class Twice(Container):
    """y = B(A(x)), a minimal container for the tests: its formula calls two sublayers."""

    def __init__(self, a, b):
        super().__init__(OrderedDict([("a", a), ("b", b)]))
        self.a, self.b = a, b

    def output_shape(self, input_shape):
        return self.b.output_shape(self.a.output_shape(input_shape))

    def forward(self, x, train=True):
        return self.b.forward(self.a.forward(x, train), train)

    def backward(self, dout):
        return self.a.backward(self.b.backward(dout))


def test_walk_is_depth_first_and_a_plain_layer_has_no_sublayers():
    inner = [Affine(2, 2), BatchNormalization(2), Affine(2, 2)]
    outer = Twice(inner[0], Twice(inner[1], inner[2]))
    assert [type(layer).__name__ for layer in outer.walk()] == ["Twice", "Affine", "Twice", "BatchNormalization",
                                                               "Affine"]
    assert list(inner[0].walk()) == [inner[0]] and inner[0].sublayers() == OrderedDict()


def test_params_grads_buffers_and_state_of_a_container_are_its_sublayers_under_dotted_paths():
    rng = np.random.default_rng(0)
    layer = Twice(Affine(3, 2, rng=0), Twice(BatchNormalization(2), Dropout(0.5, rng=1)))
    assert list(layer.params()) == ["a.W", "a.b", "b.a.gamma", "b.a.beta"]
    assert layer.params()["b.a.gamma"] is layer.b.a.gamma
    assert list(layer.buffers()) == ["b.a.running_mean", "b.a.running_var"]
    state = layer.state()
    x = rng.standard_normal((4, 3))
    y = layer.forward(x)
    layer.backward(np.ones_like(y))
    assert list(layer.grads()) == list(layer.params()) and layer.grads()["a.W"] is layer.a.dW
    layer.set_state(state)  # the same dropout mask and running statistics again
    np.testing.assert_array_equal(layer.forward(x), y)


def test_a_container_gradient_checks_through_its_sublayers():
    rng = np.random.default_rng(1)
    layer = Twice(Affine(3, 4, rng=2), Twice(BatchNormalization(4), Affine(4, 2, rng=3)))
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((5, 3)), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_reset_parameters_draws_the_sublayers_in_order_from_one_rng():
    layer = Twice(Affine(3, 4), Affine(4, 2))
    layer.reset_parameters("he", make_rng(7))
    a, b = Affine(3, 4), Affine(4, 2)
    rng = make_rng(7)
    a.reset_parameters("he", rng)
    b.reset_parameters("he", rng)
    np.testing.assert_array_equal(layer.a.W, a.W)
    np.testing.assert_array_equal(layer.b.W, b.W)


def test_splits_work_and_min_batch_size_come_from_the_layers_inside():
    assert Twice(Relu(), Twice(Relu(), Convolution(1, 1, 1))).splits_work
    assert not Twice(Relu(), Affine(2, 2)).splits_work
    assert Twice(Affine(2, 2), Twice(Relu(), BatchNormalization(2))).min_batch_size == 2
    assert Twice(Affine(2, 2), Relu()).min_batch_size == 1


def test_a_param_buffer_binds_the_layers_inside_numbered_as_a_flat_chain():
    nested = [Affine(2, 3), Twice(Affine(3, 3), Twice(BatchNormalization(3), Affine(3, 2)))]
    buffers = ParamBuffer(nested, np.float32)
    assert list(buffers.params) == ["W1", "b1", "W2", "b2", "gamma1", "beta1", "W3", "b3"]
    inner = nested[1].b.b
    assert inner.W is buffers.params["W3"] and inner.W.dtype == np.float32
    assert buffers.owners["gamma1"] == (nested[1].b.a, "gamma")
    assert buffers.decay_keys == ["W1", "W2", "W3"]


@pytest.mark.parametrize("layers, match", [
    ({"": Relu()}, r"Owner: layer names must be non-empty strings, got ''"),
    ({"a": "relu"}, r"Owner: layer 'a' is not a bprop layer: 'relu'"),
])
def test_check_sublayers_refuses_bad_names_and_non_layers(layers, match):
    with pytest.raises(ValueError, match=match):
        check_sublayers("Owner", layers)


def test_one_object_twice_is_refused_also_deep_inside():
    shared = Affine(2, 2)
    with pytest.raises(ValueError, match=r"Twice: layer 'b' is the same object as 'a'"):
        Twice(shared, shared)
    with pytest.raises(ValueError, match=r"Twice: layer Affine\(2 -> 2\) inside 'b' is the same object as 'a'"):
        Twice(shared, Twice(Relu(), shared))


def test_check_passes_gradient_refuses_a_layer_without_input_grad():
    check_passes_gradient("Owner", {"a": Affine(2, 2), "b": Relu()})
    with pytest.raises(ValueError, match=r"Owner: layer 'a' \(Affine\(2 -> 2\)\) has input_grad=False, so no "
                                         r"gradient would reach the layers before it"):
        check_passes_gradient("Owner", {"a": Affine(2, 2, input_grad=False)})


# --- Chain -------------------------------------------------------------------------------------
def test_chain_runs_its_layers_in_order_and_is_named_and_described():
    chain = Chain([Affine(np.eye(2), np.ones(2)), Relu()])
    np.testing.assert_array_equal(chain.forward(np.array([[-3.0, 1.0]])), [[0.0, 2.0]])
    np.testing.assert_array_equal(chain.backward(np.array([[5.0, 7.0]])), [[0.0, 7.0]])
    assert list(chain.sublayers()) == ["Affine1", "Relu1"]
    assert repr(chain) == "Chain(Affine(2 -> 2), Relu())"
    assert chain.output_shape((2,)) == (2,)


def test_chain_checks_its_layers_shapes_and_calls():
    with pytest.raises(ValueError, match=r"Chain: needs at least one layer"):
        Chain([])
    with pytest.raises(ValueError, match=r"Chain: layer 'Affine2' does not fit its input of shape \(3,\)"):
        Chain([Affine(2, 3), Affine(2, 2)]).output_shape((2,))
    chain = Chain([Affine(2, 3)])
    with pytest.raises(BackwardBeforeForwardError, match="Chain.backward was called before Chain.forward"):
        chain.backward(np.zeros((1, 3)))
    chain.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"Chain.backward: dout has shape \(4, 2\), expected \(4, 3\)"):
        chain.backward(np.zeros((4, 2)))


def test_as_layer_keeps_a_layer_chains_a_list_and_refuses_anything_else():
    affine = Affine(2, 2)
    assert as_layer("Owner", "block", affine) is affine
    assert isinstance(as_layer("Owner", "block", [Affine(2, 2), Relu()]), Chain)
    with pytest.raises(ValueError, match=r"Owner: block must be a bprop layer or a list or OrderedDict of layers, "
                                         r"got int$"):
        as_layer("Owner", "block", 3)


def test_a_chain_inside_a_sequential_gradient_checks():
    rng = np.random.default_rng(2)
    net = Sequential([Affine(3, 4, rng=0), Chain([Relu(), Affine(4, 4, rng=1), BatchNormalization(4)]),
                      Affine(4, 2, rng=2)])
    assert list(net.params) == ["W1", "b1", "W2", "b2", "gamma1", "beta1", "W3", "b3"]
    analytic, numeric = net.gradient_check(rng.standard_normal((5, 3)), rng.integers(0, 2, 5))
    assert_gradients_close(analytic, numeric)
