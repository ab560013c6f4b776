"""Peek: the context appended to every step, and its gradient summed over the steps."""

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, Peek
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient


def test_peek_forward_and_backward_hand_values():
    layer = Peek(2)
    layer.set_context(np.array([[10.0, 20.0]]))
    y = layer.forward(np.array([[[1.0], [2.0], [3.0]]]))
    np.testing.assert_array_equal(y, [[[1, 10, 20], [2, 10, 20], [3, 10, 20]]])
    dx = layer.backward(np.arange(9.0).reshape(1, 3, 3))
    np.testing.assert_array_equal(dx, [[[0], [3], [6]]])
    np.testing.assert_array_equal(layer.dcontext, [[1 + 4 + 7, 2 + 5 + 8]])


@pytest.mark.parametrize("n, t, d, h", [(1, 1, 1, 1), (2, 3, 4, 2), (3, 5, 2, 3)])
def test_peek_backward_matches_numerical_for_input_and_context(n, t, d, h):
    rng = np.random.default_rng(n + t + d + h)
    layer = Peek(h)
    x, context = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    dout = rng.standard_normal((n, t, d + h))
    layer.set_context(context)
    layer.forward(x)
    analytic = {"x": layer.backward(dout), "context": layer.dcontext}

    def f():
        layer.set_context(context)
        return float(np.sum(layer.forward(x) * dout))

    numeric = {"x": numerical_gradient(f, x, 1e-6), "context": numerical_gradient(f, context, 1e-6)}
    assert_gradients_close(analytic, numeric)


def test_peek_keeps_float32_and_leaves_dout_alone():
    layer = Peek(3)
    layer.set_context(np.ones((2, 3), dtype=np.float32))
    assert layer.forward(np.ones((2, 4, 5), dtype=np.float32)).dtype == np.float32
    dout = np.ones((2, 4, 8), dtype=np.float32)
    dx = layer.backward(dout)
    dx[...] = 7
    np.testing.assert_array_equal(dout, 1)


def test_peek_output_shape_repr_and_errors():
    layer = Peek(3)
    assert layer.output_shape((5, 4)) == (5, 7) and repr(layer) == "Peek(context_size=3)"
    with pytest.raises(ValueError, match="expects \\(T, D\\) per sample"):
        layer.output_shape((4,))
    with pytest.raises(ValueError, match="call set_context"):
        layer.forward(np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"context must have shape \(N, 3\), got \(2, 4\)"):
        layer.set_context(np.ones((2, 4)))
    layer.set_context(np.ones((2, 3)))
    with pytest.raises(ValueError, match="a batch of 2 sequences"):
        layer.forward(np.ones((3, 4, 5)))
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.ones((2, 4, 8)))
    with pytest.raises(ValueError, match="context_size must be an integer >= 1"):
        Peek(0)
