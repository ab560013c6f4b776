import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError
from bprop.layers.embedding_dot import EmbeddingDot
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient


def test_embedding_dot_forward_hand_values_for_one_id_per_row():
    W = np.arange(12.0).reshape(4, 3)
    h = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
    s = EmbeddingDot(W).forward(h, np.array([2, 0]))
    # W[2] . h[0] = 6 + 0 + 16, W[0] . h[1] = 0 - 1 + 2
    np.testing.assert_array_equal(s, [22.0, 1.0])


def test_embedding_dot_forward_hand_values_for_several_ids_per_row():
    W = np.arange(12.0).reshape(4, 3)
    h = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
    s = EmbeddingDot(W).forward(h, np.array([[2, 1], [0, 3]]))
    np.testing.assert_array_equal(s, [[22.0, 3.0 + 10.0], [1.0, 4.5 - 10.0 + 11.0]])


def test_embedding_dot_backward_hand_values_add_a_repeated_id_into_its_row():
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer = EmbeddingDot(W)
    h = np.array([[1.0, -1.0], [2.0, 0.5]])
    layer.forward(h, np.array([1, 1]))
    dh = layer.backward(np.array([2.0, -1.0]))
    np.testing.assert_array_equal(dh, [[6.0, 8.0], [-3.0, -4.0]])  # ds[n] * W[idx[n]]
    # row 1 gets 2 * h[0] - 1 * h[1]
    np.testing.assert_array_equal(layer.dW, [[0, 0], [0.0, -2.5], [0, 0]])


@pytest.mark.parametrize("idx_shape", [(1,), (5,), (1, 1), (4, 3)])
def test_embedding_dot_backward_matches_numerical_for_h_and_W(idx_shape):
    rng = np.random.default_rng(0)
    layer = EmbeddingDot(rng.standard_normal((6, 4)))
    h = rng.standard_normal((idx_shape[0], 4))
    idx = rng.integers(0, 6, size=idx_shape)
    dout = rng.standard_normal(idx_shape)
    layer.forward(h, idx)
    dh = layer.backward(dout)

    def f():
        return float(np.sum(layer.forward(h, idx) * dout))

    numeric = {"h": numerical_gradient(f, h, 1e-6), "W": numerical_gradient(f, layer.W, 1e-6)}
    assert_gradients_close({"h": dh, "W": layer.dW}, numeric)


def test_embedding_dot_backward_returns_a_new_array_and_leaves_dout_alone():
    rng = np.random.default_rng(1)
    layer = EmbeddingDot(rng.standard_normal((5, 3)))
    layer.forward(rng.standard_normal((2, 3)), np.array([[1, 2], [3, 4]]))
    dout = rng.standard_normal((2, 2))
    before = dout.copy()
    dh = layer.backward(dout)
    assert not np.shares_memory(dh, dout)
    np.testing.assert_array_equal(dout, before)


def test_embedding_dot_float32_stays_float32():
    layer = EmbeddingDot(np.ones((3, 2), dtype=np.float32))
    s = layer.forward(np.ones((2, 2), dtype=np.float32), np.array([0, 2]))
    assert s.dtype == np.float32
    assert layer.backward(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert layer.dW.dtype == np.float32


def test_embedding_dot_from_sizes_and_repr():
    layer = EmbeddingDot(10, 4, rng=0)
    assert layer.W.shape == (10, 4)
    assert repr(layer) == "EmbeddingDot(10, 4)"
    assert layer.output_shape((5,)) == (5,)


@pytest.mark.parametrize("h_shape, idx, message", [
    ((2, 4), np.array([0, 1]), r"h must be a float array \(N, 3\), got shape \(2, 4\)"),
    ((3,), np.array([0, 1, 2]), r"h must be a float array \(N, 3\), got shape \(3,\)"),
    ((2, 3), np.array([0, 1, 2]), r"idx must be \(N,\) or \(N, K\) with N = 2 \(the rows of h\), got shape \(3,\)"),
    ((2, 3), np.zeros((2, 1, 1), dtype=int), r"idx must be .* got shape \(2, 1, 1\)"),
    ((2, 3), np.array([0, 5]), r"id 5 is outside \[0, 5\)"),
    ((2, 3), np.array([0.0, 1.0]), "ids must be integers, got dtype float64"),
])
def test_embedding_dot_rejects_bad_inputs_naming_the_layer(h_shape, idx, message):
    layer = EmbeddingDot(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"EmbeddingDot\(5, 3\): " + message):
        layer.forward(np.zeros(h_shape), idx)


def test_embedding_dot_rejects_integer_h():
    with pytest.raises(ValueError, match="h must be a float array .* dtype int64"):
        EmbeddingDot(np.zeros((5, 3))).forward(np.zeros((1, 3), dtype=np.int64), np.array([0]))


def test_embedding_dot_rejects_dout_of_another_shape():
    layer = EmbeddingDot(np.zeros((5, 3)))
    layer.forward(np.zeros((2, 3)), np.array([[0, 1], [2, 3]]))
    with pytest.raises(ValueError, match=r"EmbeddingDot.backward: dout has shape \(2,\), expected \(2, 2\)"):
        layer.backward(np.zeros(2))


def test_embedding_dot_backward_before_forward_is_an_error():
    with pytest.raises(BackwardBeforeForwardError):
        EmbeddingDot(np.zeros((5, 3))).backward(np.zeros(2))


def test_embedding_dot_rejects_bad_sizes():
    with pytest.raises(ValueError, match="EmbeddingDot: dim must be an integer >= 1, got 0"):
        EmbeddingDot(10, 0)
