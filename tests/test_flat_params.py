import numpy as np
import pytest

from bprop.layers import Affine
from bprop.networks import MultiLayerNet
from bprop.networks.flat_params import ALIGN, FlatParams
from bprop.optim import OPTIMIZERS, get_optimizer

SHAPES = {"W1": (5, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}


def test_flat_params_are_aligned_views_of_one_buffer():
    p = FlatParams.allocate(SHAPES, np.float32)
    assert list(p) == list(SHAPES)
    for k, shape in SHAPES.items():
        assert p[k].shape == shape and p[k].dtype == np.float32
        assert np.shares_memory(p[k], p.flat)
    starts = [a for _, a, _, _ in p.layout]
    assert all(s % ALIGN == 0 for s in starts)
    p["W2"][...] = 7
    assert np.count_nonzero(p.flat == 7) == 6


def test_assigning_an_entry_writes_into_the_buffer():
    p = FlatParams.allocate(SHAPES, np.float32)
    view = p["W1"]
    p["W1"] = np.full((5, 3), 2.0)  # float64 value, cast into the float32 buffer
    assert p["W1"] is view and p["W1"].dtype == np.float32
    assert np.count_nonzero(p.flat == 2.0) == 15
    p.update({"b2": [1.0, 3.0]})
    np.testing.assert_array_equal(p["b2"], [1.0, 3.0])


def test_in_place_operators_keep_the_link():
    p = FlatParams.allocate(SHAPES, np.float64)
    view = p["W1"]
    p["W1"] += 1.0
    assert p["W1"] is view and p.flat[0] == 1.0


@pytest.mark.parametrize("mutate, error, match", [
    (lambda p: p.__setitem__("W1", np.zeros((3, 5))), ValueError,
     r"params\['W1'\] has shape \(5, 3\), the new value \(3, 5\)"),
    (lambda p: p.__setitem__("W3", np.zeros(1)), KeyError, "no parameter 'W3'.*W1, b1, W2, b2"),
    (lambda p: p.pop("b2"), TypeError, "cannot be removed; assign params\\[key\\] = array"),
    (lambda p: p.__delitem__("W1"), TypeError, "cannot be removed"),
    (lambda p: p.clear(), TypeError, "cannot be removed"),
    (lambda p: p.popitem(), TypeError, "cannot be removed"),
])
def test_a_parameter_cannot_be_detached_resized_added_or_removed(mutate, error, match):
    p = FlatParams.allocate(SHAPES, np.float64)
    before = p.flat.copy()
    with pytest.raises(error, match=match):
        mutate(p)
    assert list(p) == list(SHAPES)
    np.testing.assert_array_equal(p.flat, before)


def test_assigning_a_network_parameter_reaches_its_layer_and_its_saved_file(tmp_path):
    net = MultiLayerNet(4, [3], 2, rng=0)
    W = np.arange(12.0).reshape(4, 3)
    net.params["W1"] = W
    np.testing.assert_array_equal(net.layers["Affine1"].W, W)
    assert net.layers["Affine1"].W is net.params["W1"]
    net.save_params(tmp_path / "w.npz")
    other = MultiLayerNet(4, [3], 2, rng=1)
    other.load_params(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.layers["Affine1"].W, W)


def make_pair(rng):
    params = FlatParams.allocate(SHAPES, np.float64)
    params.flat[:] = rng.standard_normal(params.flat.size)
    grads = params.like()
    for k in grads:
        grads[k][...] = rng.standard_normal(grads[k].shape)
    return params, grads


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_update_equals_per_parameter_update(name):
    rng = np.random.default_rng(0)
    flat_p, flat_g = make_pair(rng)
    dict_p = {k: v.copy() for k, v in flat_p.items()}
    dict_g = {k: v.copy() for k, v in flat_g.items()}
    a, b = get_optimizer(name, lr=0.05), get_optimizer(name, lr=0.05)
    for _ in range(3):
        a.update(flat_p, flat_g)
        b.update(dict_p, dict_g)
    for k in dict_p:
        np.testing.assert_allclose(flat_p[k], dict_p[k], rtol=1e-12)
        for store in a.state_names:
            np.testing.assert_allclose(getattr(a, store)[k], getattr(b, store)[k], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_chunked_update_equals_whole_array_update(name):
    rng = np.random.default_rng(1)
    big = {"W": rng.standard_normal((50, 40))}
    grads = {"W": rng.standard_normal((50, 40))}
    small = {"W": big["W"].copy()}
    chunked, whole = get_optimizer(name, lr=0.05), get_optimizer(name, lr=0.05)
    chunked.CHUNK = 64  # 2000 elements in 32 pieces, the last one short
    for _ in range(2):
        chunked.update(big, grads)
        whole.update(small, grads)
    np.testing.assert_allclose(big["W"], small["W"], rtol=1e-12)


def test_update_of_non_contiguous_parameters_still_works():
    base = np.ones((4, 6))
    params = {"W": base[:, ::2]}
    opt = get_optimizer("adam", lr=0.1)
    opt.CHUNK = 4
    opt.update(params, {"W": np.ones((4, 3))})
    np.testing.assert_allclose(base[:, ::2], 0.9)
    np.testing.assert_array_equal(base[:, 1::2], 1.0)


def test_state_carries_over_from_per_key_to_flat():
    rng = np.random.default_rng(2)
    flat_p, flat_g = make_pair(rng)
    opt = get_optimizer("momentum", lr=0.1)
    opt.update(dict(flat_p), dict(flat_g))  # plain dicts: per-key state
    v_before = {k: v.copy() for k, v in opt.v.items()}
    opt.update(flat_p, flat_g)  # now one buffer: the velocities are carried over
    for k in flat_p:
        np.testing.assert_allclose(opt.v[k], 0.9 * v_before[k] - 0.1 * flat_g[k])


def test_affine_writes_gradients_into_bound_buffers():
    rng = np.random.default_rng(3)
    layer = Affine(rng.standard_normal((4, 3)), np.zeros(3))
    dW, db = np.empty((4, 3)), np.empty(3)
    layer.bind_grad_buffers({"W": dW, "b": db})
    x, dout = rng.standard_normal((2, 4)), rng.standard_normal((2, 3))
    layer.forward(x)
    layer.backward(dout)
    assert layer.dW is dW and layer.db is db
    np.testing.assert_allclose(dW, x.T @ dout)


def test_bind_grad_buffers_rejects_wrong_shape_or_dtype():
    layer = Affine(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"Affine: gradient buffer for W has shape \(3, 4\)"):
        layer.bind_grad_buffers({"W": np.zeros((3, 4))})
    with pytest.raises(ValueError, match=r"gradient buffer for b .* float32"):
        layer.bind_grad_buffers({"b": np.zeros(3, np.float32)})


def test_network_gradients_live_in_one_buffer_and_match_params_layout():
    rng = np.random.default_rng(4)
    net = MultiLayerNet(6, [5], 3, use_batchnorm=True, weight_decay_lambda=0.1, rng=5)
    grads = net.gradient(rng.standard_normal((4, 6)), rng.integers(0, 3, 4))
    assert grads.flat is not None and grads.layout == net.params.layout
    assert net.layers["Affine1"].dW is not None
    assert np.shares_memory(grads["W1"], grads.flat)
    assert np.shares_memory(grads["gamma1"], grads.flat)


def test_gradient_dict_is_reused_and_stays_linked_after_an_entry_is_assigned():
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    net = MultiLayerNet(6, [5], 3, rng=7)
    first = {k: v.copy() for k, v in net.gradient(x, t).items()}
    grads = net.gradient(x, t)
    grads["W1"] = np.zeros((6, 5))  # written into the buffer, overwritten by the next call
    again = net.gradient(x, t)
    assert again is grads and again.layout == net.params.layout
    for k in first:
        np.testing.assert_array_equal(again[k], first[k])
