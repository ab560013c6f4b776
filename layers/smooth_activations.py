"""Smooth element-wise activations: ELU, GELU, SiLU (swish) and Softplus, found by name in ``ACTIVATIONS``.

Each layer computes the stable function of the same name in :mod:`bprop.layers.functional`,
caches its input ``x`` and returns ``dx = dout * f'(x)`` as a new array, leaving ``dout``
untouched. Each follows the PyTorch module named in its docstring, boundary values included.

Weight initialisation (``default_init``): ELU, GELU and SiLU behave like ReLU for large
inputs and damp or zero the negative side, so they take He's ``sqrt(2 / fan_in)``, as
ReLU does. Softplus too is a smoothed ReLU (``softplus(x) - relu(x)`` is at most
``log(2) / beta``), so it takes He as well.
"""

import numpy as np

from .activations import ACTIVATIONS, Activation
from .base import check_dout
from .checks import check_finite_number, check_positive
from .smooth_functions import (elu, elu_grad, gelu, gelu_grad, normal_cdf, normal_pdf, silu, silu_grad, softplus,
                               softplus_grad)

__all__ = ["ELU", "GELU", "SiLU", "Softplus"]


class _SmoothActivation(Activation):
    """An activation ``y = f(x)`` whose backward is ``dx = dout * f'(x)``: caches ``x``.

    A subclass names ``function`` and ``derivative`` from :mod:`bprop.layers.functional`,
    each called as ``function(x, *hyperparameters)``, and the attributes that hold its
    ``hyperparameters`` in that order (which ``repr`` shows too).
    """

    default_init = "he"
    #: the names of the attributes passed after ``x`` to ``function`` and ``derivative``
    hyperparameters = ()

    def __init__(self):
        self.x = None

    def _arguments(self):
        return [getattr(self, name) for name in self.hyperparameters]

    def f(self, x):
        return self.function(x, *self._arguments())

    def grad(self, x):
        return self.derivative(x, *self._arguments())

    def extra_repr(self):
        return ", ".join(f"{name}={value!r}" for name, value in zip(self.hyperparameters, self._arguments()))

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        self.x = x
        return self.f(x)

    def backward(self, dout):
        x = self._need_cache(self.x)
        dout = check_dout(self, dout, x.shape, like=x)
        return dout * self.grad(x)


@ACTIVATIONS.register("elu")
class ELU(_SmoothActivation):
    """Exponential linear unit (Clevert et al., 2015), PyTorch's ``nn.ELU(alpha)``.

    ``y = x`` for ``x > 0``, ``y = alpha * (exp(x) - 1)`` otherwise;
    ``dx = dout`` for ``x > 0``, ``dx = dout * alpha * exp(x)`` otherwise (``alpha`` at
    ``x = 0``, as PyTorch). Negative outputs saturate at ``-alpha``, which pushes the mean
    activation towards zero. ``exp`` is taken of ``min(x, 0)`` only, so no input overflows.

    Parameters
    ----------
    alpha : finite float, 1.0 by default (PyTorch accepts any value; so does this layer).

    Shape
    -----
    x : any shape; y and dx : the shape of x. Caches ``x``.
    """

    function, derivative = staticmethod(elu), staticmethod(elu_grad)
    hyperparameters = ("alpha",)

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = check_finite_number(type(self).__name__, "alpha", alpha)


@ACTIVATIONS.register("gelu")
class GELU(_SmoothActivation):
    """Gaussian error linear unit (Hendrycks and Gimpel, 2016), PyTorch's ``nn.GELU(approximate)``.

    ``approximate='none'``: ``y = x * Phi(x)``, ``Phi`` the standard normal distribution
    function, ``dx = dout * (Phi(x) + x * phi(x))``, ``phi`` its density.

    ``approximate='tanh'``: ``y = x/2 * (1 + tanh(u))``, ``u = sqrt(2/pi) (x + 0.044715 x**3)``,
    ``dx = dout * (s + 2 x s (1 - s) u')`` with ``s = sigmoid(2u) = (1 + tanh(u)) / 2`` and
    ``u' = sqrt(2/pi) (1 + 3 * 0.044715 x**2)``.

    ``Phi`` is SciPy's ``special.ndtr``, accurate in both tails (see
    :func:`bprop.layers.smooth_functions.gelu`), and the costliest step of the layer: forward
    keeps ``Phi(x)`` beside ``x`` for backward. The tanh form costs a fraction of it.

    Parameters
    ----------
    approximate : 'none' (default, exact) or 'tanh'.

    Shape
    -----
    x : any shape; y and dx : the shape of x. Caches ``x``.
    """

    hyperparameters = ("approximate",)

    #: the values of ``approximate``, as PyTorch names them
    APPROXIMATIONS = ("none", "tanh")

    def __init__(self, approximate="none"):
        super().__init__()
        if not isinstance(approximate, str) or approximate not in self.APPROXIMATIONS:
            raise ValueError(f"GELU: approximate must be one of {list(self.APPROXIMATIONS)}, got {approximate!r}")
        self.approximate = approximate
        self._cdf = None

    def f(self, x):
        if self.approximate == "tanh":
            return gelu(x, "tanh")
        self._cdf = normal_cdf(x)  # Phi(x), the costly part, kept for backward
        return x * self._cdf

    def grad(self, x):
        if self.approximate == "tanh":
            return gelu_grad(x, "tanh")
        return self._cdf + x * normal_pdf(x)


@ACTIVATIONS.register("swish")
@ACTIVATIONS.register("silu")
class SiLU(_SmoothActivation):
    """Sigmoid-weighted linear unit, also called swish, PyTorch's ``nn.SiLU()``.

    ``y = x * sigmoid(x)``; ``dx = dout * s * (1 + x * (1 - s))`` with ``s = sigmoid(x)``.
    Registered as ``'silu'`` and ``'swish'``.

    Shape
    -----
    x : any shape; y and dx : the shape of x. Caches ``x``.
    """

    function, derivative = staticmethod(silu), staticmethod(silu_grad)


@ACTIVATIONS.register("softplus")
class Softplus(_SmoothActivation):
    """Softplus, a smooth ReLU, PyTorch's ``nn.Softplus(beta, threshold)``.

    ``y = log(1 + exp(beta x)) / beta``, ``dx = dout * sigmoid(beta x)``; where
    ``beta x > threshold`` the layer is the identity, ``y = x`` and ``dx = dout``, as
    PyTorch's (there the two differ by less than ``exp(-threshold) / beta``). Computed as
    ``(max(z, 0) + log1p(exp(-|z|))) / beta``, ``z = beta x``, so no input overflows.

    Parameters
    ----------
    beta : finite float > 0, 1.0 by default.
    threshold : finite float, 20.0 by default.

    Shape
    -----
    x : any shape; y and dx : the shape of x. Caches ``x``.
    """

    function, derivative = staticmethod(softplus), staticmethod(softplus_grad)
    hyperparameters = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = check_positive(type(self).__name__, "beta", beta)
        self.threshold = check_finite_number(type(self).__name__, "threshold", threshold)
