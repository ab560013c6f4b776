"""The fully connected layer."""

import numpy as np

from .base import Layer, check_dout


class Affine(Layer):
    """Fully connected layer, ``y = x W + b``.

    Parameters
    ----------
    W : (D, M) array, weights; the layer keeps a reference, not a copy, so an
        optimizer that updates ``W`` in place updates the layer.
    b : (M,) array, bias, same dtype as ``W``.
    input_grad : bool, default True
        Whether ``backward`` computes ``dx``. A network sets it to False on its first
        layer, whose input is data, to skip one matrix product per step; ``backward``
        then returns None.

    Shape
    -----
    x : (N, D) or (N, d1, d2, ...) with d1*d2*... = D (flattened per sample);
    y : (N, M); ``backward`` returns dx in the shape of x.

    Attributes
    ----------
    dW : (D, M), db : (M,) gradients set by ``backward``.
    """

    param_names = ("W", "b")

    def __init__(self, W, b, input_grad=True):
        W = np.asarray(W)
        b = np.asarray(b)
        if W.ndim != 2:
            raise ValueError(f"Affine: W must be 2-D (in_features, out_features), got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ValueError(f"Affine: b must have shape ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
        if W.dtype != b.dtype:
            raise ValueError(f"Affine: W and b must share a dtype, got {W.dtype} and {b.dtype}")
        self.W = W
        self.b = b
        self.input_grad = input_grad
        self.dW = None
        self.db = None
        self._x = None
        self._x_shape = None

    def extra_repr(self):
        return f"{self.W.shape[0]} -> {self.W.shape[1]}"

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[0] == 0:
            raise ValueError(
                f"{self!r}: input must be a non-empty batch (N, D) or (N, d1, ...), got shape {x.shape}"
            )
        self._x_shape = x.shape
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"{self!r}: input has {x.shape[1]} features per sample (shape {self._x_shape}), "
                f"W expects {self.W.shape[0]}"
            )
        self._x = x
        out = x @ self.W
        out += self.b
        return out

    def backward(self, dout):
        x = self._need_cache(self._x)
        check_dout(self, dout, (x.shape[0], self.W.shape[1]))
        self.dW = np.matmul(x.T, dout, out=self._grad_out("W"))
        self.db = np.sum(dout, axis=0, out=self._grad_out("b"))
        if not self.input_grad:
            return None
        dx = dout @ self.W.T
        return dx.reshape(self._x_shape)
