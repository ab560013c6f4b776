import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, Embedding, TimeEmbedding
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient


def test_embedding_forward_hand_values():
    W = np.arange(12.0).reshape(4, 3)
    layer = Embedding(W)
    y = layer.forward(np.array([[0, 2], [3, 2]]))
    np.testing.assert_array_equal(y, [[[0, 1, 2], [6, 7, 8]], [[9, 10, 11], [6, 7, 8]]])


def test_embedding_backward_adds_the_gradients_of_a_repeated_id():
    layer = Embedding(np.zeros((4, 2)))
    layer.forward(np.array([[0, 2], [2, 2]]))
    dout = np.array([[[1.0, 10.0], [2.0, 20.0]], [[3.0, 30.0], [4.0, 40.0]]])
    assert layer.backward(dout) is None  # ids have no gradient
    np.testing.assert_array_equal(layer.dW, [[1, 10], [0, 0], [9, 90], [0, 0]])


@pytest.mark.parametrize("shape", [(1,), (5,), (2, 3), (3, 4)])
def test_embedding_backward_matches_numerical(shape):
    rng = np.random.default_rng(0)
    layer = Embedding(rng.standard_normal((5, 3)))
    ids = rng.integers(0, 5, size=shape)
    dout = rng.standard_normal(shape + (3,))
    layer.forward(ids)
    layer.backward(dout)

    def f():
        return float(np.sum(layer.forward(ids) * dout))

    assert_gradients_close({"W": layer.dW}, {"W": numerical_gradient(f, layer.W, 1e-6)})


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.intp])
def test_embedding_accepts_any_integer_ids_without_casting(dtype):
    layer = Embedding(np.arange(6.0).reshape(3, 2))
    ids = np.array([[2, 0]], dtype=dtype)
    np.testing.assert_array_equal(layer.forward(ids), [[[4, 5], [0, 1]]])
    assert layer._ids.dtype == dtype


@pytest.mark.parametrize("bad, message", [(5, "id 5 is outside \\[0, 5\\)"), (-1, "id -1 is outside")])
def test_embedding_rejects_id_out_of_range_naming_it(bad, message):
    layer = Embedding(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"Embedding\(5, 2\): " + message):
        layer.forward(np.array([[0, bad]]))


def test_embedding_rejects_float_ids():
    with pytest.raises(ValueError, match="ids must be integers, got dtype float64"):
        Embedding(np.zeros((5, 2))).forward(np.array([1.0, 2.0]))


def test_embedding_from_sizes_draws_n01_like_pytorch():
    layer = Embedding(1000, 50, rng=0)
    assert layer.W.shape == (1000, 50) and layer.W.dtype == np.float64
    assert abs(layer.W.std() - 1.0) < 0.02
    again = Embedding(1000, 50, rng=0)
    np.testing.assert_array_equal(layer.W, again.W)
    assert Embedding(10, 4, dtype=np.float32).W.dtype == np.float32


def test_embedding_reset_parameters_uses_fan_in_one():
    layer = Embedding(np.zeros((2000, 20)))
    layer.reset_parameters("he", np.random.default_rng(1))
    assert abs(layer.W.std() - np.sqrt(2.0)) < 0.03


def test_embedding_from_sizes_rejects_bad_sizes_and_mixed_forms():
    with pytest.raises(ValueError, match="Embedding: dim must be an integer >= 1"):
        Embedding(10, 0)
    with pytest.raises(ValueError, match="give W alone"):
        Embedding(np.zeros((3, 2)), 2)
    with pytest.raises(ValueError, match=r"W must be 2-D \(vocab_size, dim\), got shape \(3,\)"):
        Embedding(np.zeros(3))


def test_embedding_float32_stays_float32():
    layer = Embedding(np.ones((4, 3), np.float32))
    y = layer.forward(np.array([[1, 1]]))
    layer.backward(np.ones((1, 2, 3), np.float32))
    assert y.dtype == layer.dW.dtype == np.float32


def test_embedding_writes_gradient_into_bound_buffer_fresh_each_time():
    layer = Embedding(np.zeros((3, 2)))
    buf = np.full((3, 2), 7.0)
    layer.bind_grad_buffers({"W": buf})
    for _ in range(2):  # the second backward must not add to the first
        layer.forward(np.array([1, 1]))
        layer.backward(np.ones((2, 2)))
    assert layer.dW is buf
    np.testing.assert_array_equal(buf, [[0, 0], [2, 2], [0, 0]])


def test_embedding_backward_before_forward_raises():
    with pytest.raises(BackwardBeforeForwardError):
        Embedding(np.zeros((3, 2))).backward(np.zeros((1, 2)))


def test_embedding_rejects_dout_of_wrong_shape():
    layer = Embedding(np.zeros((3, 2)))
    layer.forward(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"Embedding.backward: dout has shape \(2, 3\), expected \(2, 2\)"):
        layer.backward(np.zeros((2, 3)))


def test_embedding_output_shape_and_repr():
    layer = Embedding(np.zeros((65, 16)))
    assert repr(layer) == "Embedding(65, 16)"
    assert layer.output_shape(()) == (16,)
    assert layer.output_shape((7,)) == (7, 16)
    assert layer.integer_input


def test_time_embedding_maps_a_batch_of_sequences():
    layer = TimeEmbedding(np.arange(8.0).reshape(4, 2))
    y = layer.forward(np.array([[3, 0, 1]]))
    assert y.shape == (1, 3, 2)
    np.testing.assert_array_equal(y[0], [[6, 7], [0, 1], [2, 3]])
    assert layer.output_shape((3,)) == (3, 2)
    assert type(layer).stem() == "Embedding"  # Embedding1, ... in a network


def test_time_embedding_rejects_anything_but_n_by_t():
    layer = TimeEmbedding(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"TimeEmbedding\(4, 2\): ids must be a batch of sequences \(N, T\), got shape \(3,\)"):
        layer.forward(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"expects a sequence of ids \(T,\) per sample, got shape \(2, 3\)"):
        layer.output_shape((2, 3))
