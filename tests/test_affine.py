import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient


def make_affine(rng, d, m, dtype=np.float64):
    return Affine(rng.standard_normal((d, m)).astype(dtype), rng.standard_normal(m).astype(dtype))


def test_affine_forward_hand_values():
    layer = Affine(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([0.5, -1.0]))
    y = layer.forward(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))
    np.testing.assert_array_equal(y, [[1 - 5 + 0.5, 2 - 6 - 1.0], [3.5, 3.0]])


def test_affine_backward_hand_values():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer = Affine(W, np.zeros(2))
    x = np.array([[1.0, 2.0]])
    layer.forward(x)
    dx = layer.backward(np.array([[1.0, -1.0]]))
    np.testing.assert_array_equal(dx, [[1 - 2, 3 - 4]])
    np.testing.assert_array_equal(layer.dW, [[1.0, -1.0], [2.0, -2.0]])
    np.testing.assert_array_equal(layer.db, [1.0, -1.0])


@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 4), (2, 2, 3, 2)])
def test_affine_backward_matches_numerical(shape):
    rng = np.random.default_rng(0)
    d = int(np.prod(shape[1:]))
    layer = make_affine(rng, d, 3)
    x = rng.standard_normal(shape)
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert analytic["x"].shape == shape
    assert_gradients_close(analytic, numeric)


def test_affine_backward_leaves_dout_unchanged():
    rng = np.random.default_rng(1)
    layer = make_affine(rng, 4, 3)
    layer.forward(rng.standard_normal((2, 4)))
    dout = rng.standard_normal((2, 3))
    before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, before)


def test_affine_keeps_references_to_its_parameters():
    W, b = np.ones((2, 2)), np.zeros(2)
    layer = Affine(W, b)
    assert layer.W is W and layer.b is b


def test_affine_float32_stays_float32():
    rng = np.random.default_rng(2)
    layer = make_affine(rng, 4, 3, np.float32)
    y = layer.forward(rng.standard_normal((2, 4)).astype(np.float32))
    dx = layer.backward(np.ones((2, 3), np.float32))
    assert y.dtype == dx.dtype == layer.dW.dtype == layer.db.dtype == np.float32


def test_affine_without_input_grad_skips_dx():
    rng = np.random.default_rng(3)
    layer = Affine(rng.standard_normal((4, 3)), np.zeros(3), input_grad=False)
    layer.forward(rng.standard_normal((2, 4)))
    assert layer.backward(np.ones((2, 3))) is None
    assert layer.dW.shape == (4, 3)


def test_affine_repr():
    assert repr(Affine(np.zeros((784, 100)), np.zeros(100))) == "Affine(784 -> 100)"


def test_affine_rejects_wrong_input_width():
    layer = Affine(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"Affine\(4 -> 3\).*5 features.*W expects 4"):
        layer.forward(np.zeros((2, 5)))


@pytest.mark.parametrize("x", [np.zeros((0, 4)), np.zeros(4)])
def test_affine_rejects_empty_or_unbatched_input(x):
    with pytest.raises(ValueError, match=r"Affine.*non-empty batch"):
        Affine(np.zeros((4, 3)), np.zeros(3)).forward(x)


def test_affine_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        Affine(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"W must be 2-D"):
        Affine(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"share a dtype, got float32 and float64"):
        Affine(np.zeros((4, 3), np.float32), np.zeros(3))


def test_affine_backward_before_forward_says_so():
    with pytest.raises(BackwardBeforeForwardError, match=r"Affine.backward was called before Affine.forward"):
        Affine(np.zeros((4, 3)), np.zeros(3)).backward(np.zeros((2, 3)))


def test_affine_backward_rejects_wrong_dout_shape():
    layer = Affine(np.zeros((4, 3)), np.zeros(3))
    layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"dout has shape \(2, 4\), expected \(2, 3\)"):
        layer.backward(np.zeros((2, 4)))
