"""Element-wise activation layers: Relu, LeakyRelu, Sigmoid, Tanh, found by name in ``ACTIVATIONS``.

Each caches one array in ``forward`` and returns a new ``dx`` from ``backward``,
leaving ``dout`` untouched. Each is entered in ``ACTIVATIONS`` on the line above its
class, so a new activation is one class here plus its test.
"""

import numpy as np

from .base import Layer, check_dout
from .checks import check_positive
from .functional import sigmoid
from .registry import Registry

#: activation layers by name (``'relu'`` -> :class:`Relu`), each entered beside its class;
#: what ``MultiLayerNet(activation=...)`` and the scripts' ``--activation`` choose from
ACTIVATIONS = Registry("activation", fold_case=True)


class Activation(Layer):
    """Base class of the element-wise activations.

    A subclass is entered in :data:`ACTIVATIONS` by ``@ACTIVATIONS.register(name)``
    (a lower-case name, ``'leaky_relu'``), is built by name with no arguments (every
    constructor argument has a default), and declares ``default_init``: the weight
    initialisation, a key of :data:`bprop.layers.init.INITS`, that keeps the variance
    of the signal steady through depth for the Affine layers before it.
    """

    default_init = None


@ACTIVATIONS.register("relu")
class Relu(Activation):
    """Rectified linear unit, ``y = max(x, 0)``; ``dx = dout * (x > 0)``.

    Shape: any; ``y`` and ``dx`` have the shape of ``x``. Caches the mask ``x > 0``.
    """

    default_init = "he"

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


@ACTIVATIONS.register("leaky_relu")
class LeakyRelu(Activation):
    """Leaky rectified linear unit, ``y = x if x > 0 else alpha * x``;
    ``dx = dout * (1 if x > 0 else alpha)``.

    Unlike :class:`Relu` it passes a gradient of ``alpha * dout`` for negative inputs,
    so a unit pushed below zero can still learn.

    Parameters
    ----------
    alpha : float > 0, the slope for ``x <= 0`` (0.01 by default).

    Shape: any; ``y`` and ``dx`` have the shape of ``x``. Caches the mask ``x > 0``.
    """

    default_init = "he"

    def __init__(self, alpha=0.01):
        self.alpha = check_positive(type(self).__name__, "alpha", alpha)
        self.mask = None

    def forward(self, x, train=True):
        x = np.asarray(x)
        self.mask = x > 0
        return np.where(self.mask, x, self.alpha * x)

    def backward(self, dout):
        mask = self._need_cache(self.mask)
        dout = check_dout(self, dout, mask.shape, like=mask)
        return np.where(mask, dout, self.alpha * dout)

    def extra_repr(self):
        return f"alpha={self.alpha}"


@ACTIVATIONS.register("sigmoid")
class Sigmoid(Activation):
    """Logistic sigmoid, ``y = 1 / (1 + exp(-x))``; ``dx = dout * y * (1 - y)``.

    Exact and warning-free for any finite input (see :func:`layers.functional.sigmoid`).
    Shape: any. Caches its output ``y``.
    """

    default_init = "xavier"

    def __init__(self):
        self.out = None

    def forward(self, x, train=True):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        y = self._need_cache(self.out)
        dout = check_dout(self, dout, y.shape, like=y)
        return dout * (1.0 - y) * y


@ACTIVATIONS.register("tanh")
class Tanh(Activation):
    """Hyperbolic tangent, ``y = tanh(x)``; ``dx = dout * (1 - y**2)``.

    Shape: any. Caches its output ``y``.
    """

    default_init = "xavier"

    def __init__(self):
        self.out = None

    def forward(self, x, train=True):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        y = self._need_cache(self.out)
        dout = check_dout(self, dout, y.shape, like=y)
        return dout * (1.0 - y * y)
