"""Softmax as a layer of its own, for probabilities used inside a network (attention weights).

A network that ends in a classification loss does not need it: :class:`SoftmaxWithLoss`
fuses softmax with cross-entropy, which is both faster and exact for large logits.
"""

import numpy as np

from .base import Layer, check_dout
from .checks import is_size
from .functional import softmax

__all__ = ["Softmax"]


class Softmax(Layer):
    """Softmax along one axis, PyTorch's ``nn.Softmax(dim=axis)``.

    ``y = exp(x - max(x)) / sum(exp(x - max(x)))`` along ``axis`` (the max subtracted
    so that nothing overflows); every slice of ``y`` along ``axis`` sums to 1.
    ``dx = y * (dout - sum(dout * y, axis))``: the Jacobian ``diag(y) - y y^T`` of
    each slice applied to ``dout`` without building it.

    Not an entry of ``ACTIVATIONS``: as a hidden activation it would squeeze a whole
    layer into one distribution.

    Parameters
    ----------
    axis : int, the axis of the *batched* input the probabilities run along (-1, the
        last, by default; 0 would mix the samples of a batch, as ``dim=0`` does in PyTorch).

    Shape
    -----
    x : (N, ...) with at least ``axis`` in range; y and dx : the shape of x.
    Caches its output ``y``.
    """

    def __init__(self, axis=-1):
        if not is_size(axis):
            raise ValueError(f"Softmax: axis must be an integer, got {axis!r}")
        self.axis = int(axis)
        self.out = None

    def _check_axis(self, ndim, what):
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"Softmax: axis {self.axis} is out of range for {what}")

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        # input_shape is one sample's: the batch adds an axis in front
        self._check_axis(len(input_shape) + 1, f"a batched input of per-sample shape {input_shape}")
        return input_shape

    def forward(self, x, train=True):
        x = np.asarray(x)
        self._check_axis(x.ndim, f"an input of shape {x.shape}")
        self.out = softmax(x, axis=self.axis)
        return self.out

    def backward(self, dout):
        y = self._need_cache(self.out)
        dout = check_dout(self, dout, y.shape)
        return y * (dout - np.sum(dout * y, axis=self.axis, keepdims=True))

    def extra_repr(self):
        return f"axis={self.axis}"
