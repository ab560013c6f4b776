"""Element-wise activation layers: Relu, Sigmoid, Tanh.

Each caches one array in ``forward`` and returns a new ``dx`` from ``backward``,
leaving ``dout`` untouched.
"""

import numpy as np

from .base import Layer, check_dout
from .functional import sigmoid


class Relu(Layer):
    """Rectified linear unit, ``y = max(x, 0)``; ``dx = dout * (x > 0)``.

    Shape: any; ``y`` and ``dx`` have the shape of ``x``. Caches the mask ``x > 0``.
    """

    def __init__(self):
        self.mask = None

    def forward(self, x, train=True):
        x = np.asarray(x)
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dout):
        mask = self._need_cache(self.mask)
        dout = check_dout(self, dout, mask.shape, like=mask)  # laid out as the cache
        return dout * mask


class Sigmoid(Layer):
    """Logistic sigmoid, ``y = 1 / (1 + exp(-x))``; ``dx = dout * y * (1 - y)``.

    Exact and warning-free for any finite input (see :func:`layers.functional.sigmoid`).
    Shape: any. Caches its output ``y``.
    """

    def __init__(self):
        self.out = None

    def forward(self, x, train=True):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        y = self._need_cache(self.out)
        dout = check_dout(self, dout, y.shape, like=y)
        return dout * (1.0 - y) * y


class Tanh(Layer):
    """Hyperbolic tangent, ``y = tanh(x)``; ``dx = dout * (1 - y**2)``.

    Shape: any. Caches its output ``y``.
    """

    def __init__(self):
        self.out = None

    def forward(self, x, train=True):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        y = self._need_cache(self.out)
        dout = check_dout(self, dout, y.shape, like=y)
        return dout * (1.0 - y * y)
