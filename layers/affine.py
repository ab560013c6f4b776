"""The fully connected layer."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_weight_and_bias, is_size
from .init import init_, init_bias_, init_rule
from .parallel import matmul
from .rng import make_rng


class Affine(Layer):
    """Fully connected layer, ``y = x W + b``.

    Built from arrays, as in the textbook, ``Affine(W, b)``, or from sizes, as in
    PyTorch, ``Affine(784, 100, init='he', rng=0)``: ``W`` drawn as ``init`` says with
    fan-in ``D`` and fan-out ``M`` (``'he'``: ``N(0, 2 / D)``), ``b = 0`` unless ``init``
    draws biases too (``'torch_default'``, PyTorch's ``nn.Linear``); see :mod:`bprop.layers.init`.

    Parameters
    ----------
    W : (D, M) array, weights; the layer keeps a reference, not a copy, so an
        optimizer that updates ``W`` in place updates the layer. Or ``in_features`` D.
    b : (M,) array, bias, same dtype as ``W``. Or ``out_features`` M.
    init : a name of :data:`bprop.layers.init.INITS` ('he', the default), an activation's
        name, or a positive std; only when built from sizes.
    rng : None, int or np.random.Generator for the initial weights (from sizes).
    dtype : float64 (default) or float32 (from sizes).
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
    decay_names = ("W",)

    def __init__(self, W, b, input_grad=True, *, init="he", rng=None, dtype=np.float64):
        if is_size(W) or is_size(b):
            d = check_int("Affine", "in_features", W)
            m = check_int("Affine", "out_features", b)
            init_rule(init)  # checks the name or number
            dtype = check_dtype("Affine", dtype)
            W, b = np.empty((d, m), dtype=dtype), np.empty(m, dtype=dtype)
            rng = make_rng(rng)
            init_(W, init, d, m, rng)
            init_bias_(b, init, d, rng)
        self.W, self.b = check_weight_and_bias("Affine", W, b, "(in_features, out_features)", out_axis=1)
        self.input_grad = input_grad
        self.dW = self.db = None  # gradients, set by backward
        self._x = self._x_shape = None  # kept by forward for backward

    def extra_repr(self):
        return f"{self.W.shape[0]} -> {self.W.shape[1]}"

    fan_in = property(lambda self: self.W.shape[0], doc="D, the inputs each output sums (rows of ``W``).")
    fan_out = property(lambda self: self.W.shape[1], doc="M, the outputs (columns of ``W``).")

    def reset_parameters(self, init, rng):
        init_(self.W, init, self.fan_in, self.fan_out, rng)
        init_bias_(self.b, init, self.fan_in, rng)

    def output_shape(self, input_shape):
        features = int(np.prod(input_shape))
        if features != self.W.shape[0]:
            raise ValueError(
                f"{self!r}: input shape {tuple(input_shape)} has {features} features per sample, "
                f"W expects {self.W.shape[0]}"
            )
        return (self.W.shape[1],)

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
        out = matmul(x, self.W)  # y = x W + b
        out += self.b
        return out

    def backward(self, dout):
        x = self._need_cache(self._x)
        check_dout(self, dout, (x.shape[0], self.W.shape[1]))
        self.dW = matmul(x.T, dout, out=self._grad_out("W"))      # dW = x^T dout
        self.db = np.sum(dout, axis=0, out=self._grad_out("b"))  # db = the sum of dout over the batch
        if not self.input_grad:
            return None
        dx = matmul(dout, self.W.T)                               # dx = dout W^T
        return dx.reshape(self._x_shape)
