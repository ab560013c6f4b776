"""Smooth element-wise activations: ELU, GELU, SiLU (swish) and Softplus, found by name in ``ACTIVATIONS``.

Each layer computes the stable function of the same name in :mod:`bprop.layers.functional`,
caches its input ``x`` and returns ``dx = dout * f'(x)`` as a new array, leaving ``dout``
untouched. Each follows the PyTorch module named in its docstring, boundary values included.

Weight initialisation (``default_init``): ELU, GELU and SiLU behave like ReLU for large
inputs and damp or zero the negative side, so they take He's ``sqrt(2 / fan_in)``, as
ReLU does. Softplus too is a smoothed ReLU (``softplus(x) - relu(x)`` is at most
``log(2) / beta``), so it takes He as well.
"""

import math
import numbers

import numpy as np

from .activations import ACTIVATIONS, Activation
from .base import check_dout
from .checks import check_positive
from .functional import elu, elu_grad, gelu, gelu_grad, silu, silu_grad, softplus, softplus_grad

__all__ = ["ELU", "GELU", "SiLU", "Softplus"]


def _check_finite(owner, name, value):
    """``value`` as a float, or a ValueError ``'{owner}: {name} must be a finite number, got ...'``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


class _SmoothActivation(Activation):
    """An activation ``y = f(x)`` whose backward is ``dx = dout * f'(x)``: caches ``x``.

    Subclasses define :meth:`f` and :meth:`grad`, the function and its derivative.
    """

    default_init = "he"

    def __init__(self):
        self.x = None

    def f(self, x):
        raise NotImplementedError

    def grad(self, x):
        raise NotImplementedError

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

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = _check_finite(type(self).__name__, "alpha", alpha)

    def f(self, x):
        return elu(x, self.alpha)

    def grad(self, x):
        return elu_grad(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


@ACTIVATIONS.register("gelu")
class GELU(_SmoothActivation):
    """Gaussian error linear unit (Hendrycks and Gimpel, 2016), PyTorch's ``nn.GELU(approximate)``.

    ``approximate='none'``: ``y = x * Phi(x)``, ``Phi`` the standard normal distribution
    function, ``dx = dout * (Phi(x) + x * phi(x))``, ``phi`` its density.

    ``approximate='tanh'``: ``y = x/2 * (1 + tanh(u))``, ``u = sqrt(2/pi) (x + 0.044715 x**3)``,
    ``dx = dout * (s + 2 x s (1 - s) u')`` with ``s = sigmoid(2u) = (1 + tanh(u)) / 2`` and
    ``u' = sqrt(2/pi) (1 + 3 * 0.044715 x**2)``.

    ``Phi`` is SciPy's ``special.ndtr``, accurate in both tails; see
    :func:`bprop.layers.functional.gelu`.

    Parameters
    ----------
    approximate : 'none' (default, exact) or 'tanh'.

    Shape
    -----
    x : any shape; y and dx : the shape of x. Caches ``x``.
    """

    #: the values of ``approximate``, as PyTorch names them
    APPROXIMATIONS = ("none", "tanh")

    def __init__(self, approximate="none"):
        super().__init__()
        if not isinstance(approximate, str) or approximate not in self.APPROXIMATIONS:
            raise ValueError(f"GELU: approximate must be one of {list(self.APPROXIMATIONS)}, got {approximate!r}")
        self.approximate = approximate

    def f(self, x):
        return gelu(x, self.approximate)

    def grad(self, x):
        return gelu_grad(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


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

    def f(self, x):
        return silu(x)

    def grad(self, x):
        return silu_grad(x)


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

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = check_positive(type(self).__name__, "beta", beta)
        self.threshold = _check_finite(type(self).__name__, "threshold", threshold)

    def f(self, x):
        return softplus(x, self.beta, self.threshold)

    def grad(self, x):
        return softplus_grad(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"
