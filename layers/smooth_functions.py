"""Numerically stable smooth activations (ELU, GELU, SiLU, Softplus) and the logistic loss.

The functions behind :mod:`bprop.layers.smooth_activations` and
:class:`~bprop.layers.sigmoid_loss.SigmoidWithLoss`, each with its derivative. As in
:mod:`bprop.layers.functional`, every function keeps a floating input's dtype and none
overflows: the reason is written beside each.
"""

import math

import numpy as np
from scipy.special import ndtr

from .functional import sigmoid

def _as_floating(x):
    """``x`` as an array of a floating dtype (integers become float64)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def elu(x, alpha=1.0):
    """Exponential linear unit ``y = x if x > 0 else alpha * (exp(x) - 1)``.

    ``exp(x) - 1`` is ``expm1`` (exact for small ``|x|``), taken of ``min(x, 0)`` so the
    branch that is thrown away cannot overflow either.
    """
    x = _as_floating(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha=1.0):
    """Derivative of :func:`elu`: 1 where x > 0, else ``alpha * exp(x)`` (alpha at 0, as PyTorch)."""
    x = _as_floating(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_cdf(x):
    """Standard normal distribution function ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``.

    SciPy's ``special.ndtr`` (NumPy has no erf), vectorised and accurate in the tails:
    the left tail keeps its relative precision where ``1 + erf`` would cancel to 0
    (``Phi(-30)`` is about 4.9e-198). Computed in float64, returned in ``x``'s dtype.
    """
    x = _as_floating(x)
    return ndtr(np.asarray(x, dtype=np.float64)).astype(x.dtype, copy=False)


def normal_pdf(x):
    """Standard normal density ``phi(x) = exp(-x**2 / 2) / sqrt(2 pi)``.

    ``x`` is clipped to +-40 first, where ``phi`` has already underflowed to 0, so
    ``x**2`` cannot overflow.
    """
    x = np.clip(_as_floating(x), -40.0, 40.0)
    return np.exp(-0.5 * x * x) * _INV_SQRT_2PI


#: ``sqrt(2 / pi)`` and the cubic's coefficient in the tanh form of GELU (Hendrycks and Gimpel)
_GELU_BETA = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715
#: where the tanh form's inner argument is clipped: beyond +-100, ``u`` is over 3e4 and
#: ``tanh(u)`` is exactly +-1, so clipping changes nothing and keeps ``x**3`` finite
_GELU_CLIP = 100.0


def gelu(x, approximate="none"):
    """Gaussian error linear unit ``y = x * Phi(x)`` (``approximate='none'``) or its tanh form
    ``y = x/2 * (1 + tanh(u))``, ``u = sqrt(2/pi) * (x + 0.044715 x**3)`` (``'tanh'``).

    ``Phi`` is :func:`normal_cdf`. The tanh form is computed as PyTorch writes it, one
    ``tanh`` per element; ``u`` is taken of ``x`` clipped to +-100, where ``tanh(u)`` is
    already exactly +-1. (For ``x`` below about -5 the sum ``1 + tanh(u)`` keeps only the
    absolute precision of float arithmetic, as in PyTorch: the output is then within 1e-16
    of its true value, about ``-1e-6`` or smaller.)
    """
    x = _as_floating(x)
    if approximate == "none":
        return x * normal_cdf(x)
    return 0.5 * x * (1.0 + np.tanh(_gelu_tanh_inner(x)))


def gelu_grad(x, approximate="none"):
    """Derivative of :func:`gelu`: ``Phi(x) + x * phi(x)`` for the exact form;
    ``(1 + t) / 2 + x (1 - t**2) u' / 2`` with ``t = tanh(u)``,
    ``u' = sqrt(2/pi) * (1 + 3 * 0.044715 x**2)`` for the tanh form."""
    x = _as_floating(x)
    if approximate == "none":
        return normal_cdf(x) + x * normal_pdf(x)
    xc = np.clip(x, -_GELU_CLIP, _GELU_CLIP)
    t = np.tanh(_gelu_tanh_inner(x))
    du = _GELU_BETA * (1.0 + 3.0 * _GELU_KAPPA * xc * xc)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du


def _gelu_tanh_inner(x):
    """``u = sqrt(2/pi) * (x + 0.044715 x**3)`` of ``x`` clipped to +-100."""
    xc = np.clip(x, -_GELU_CLIP, _GELU_CLIP)
    return _GELU_BETA * (xc + _GELU_KAPPA * xc * xc * xc)


def silu(x):
    """Sigmoid-weighted linear unit (swish) ``y = x * sigmoid(x)``, with the stable :func:`sigmoid`."""
    x = _as_floating(x)
    return x * sigmoid(x)


def silu_grad(x):
    """Derivative of :func:`silu`: ``s * (1 + x * (1 - s))``, ``s = sigmoid(x)``; ``1 - s`` is
    ``sigmoid(-x)``, exact where ``s`` rounds to 1."""
    x = _as_floating(x)
    return sigmoid(x) * (1.0 + x * sigmoid(-x))


def log1p_exp(z):
    """``log(1 + exp(z))`` as ``max(z, 0) + log1p(exp(-|z|))``: ``exp`` only ever sees
    numbers <= 0, so nothing overflows, and ``log1p`` keeps small results exact."""
    z = _as_floating(z)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softplus(x, beta=1.0, threshold=20.0):
    """Softplus ``y = log(1 + exp(beta * x)) / beta``, and ``y = x`` where ``beta * x > threshold``
    (PyTorch's ``nn.Softplus``: there the two differ by less than ``exp(-threshold) / beta``).

    The smooth part is :func:`log1p_exp`, finite for any ``beta * x`` in float range.
    """
    x = _as_floating(x)
    z = beta * x
    return np.where(z > threshold, x, log1p_exp(z) / beta)


def softplus_grad(x, beta=1.0, threshold=20.0):
    """Derivative of :func:`softplus`: ``sigmoid(beta * x)``, and 1 where ``beta * x > threshold``."""
    x = _as_floating(x)
    z = beta * x
    return np.where(z > threshold, 1.0, sigmoid(z))


def sigmoid_binary_cross_entropy(x, t):
    """Binary cross-entropy of ``sigmoid(x)`` against ``t`` in [0, 1], element by element,
    from the logits: ``-t log s - (1 - t) log(1 - s) = log(1 + exp(x)) - x t``, computed
    as ``max(x, 0) - x t + log1p(exp(-|x|))`` (:func:`log1p_exp`), finite for any finite
    ``x``; its derivative in ``x`` is ``sigmoid(x) - t``. ``x`` and ``t`` share a shape.
    """
    x = _as_floating(x)
    return log1p_exp(x) - x * t
