"""Optimizers, in order of increasing complexity.

Each one is an object with ``update(params, grads)`` that moves every array of ``params``
in place (``p -= ...``), so layers that hold references to those arrays see the new values.
Per-parameter state (velocities, squared-gradient sums, moments) is created lazily on the
first ``update`` and kept in the parameter's dtype.

Each optimizer writes its update rule once, in ``_rule(p, g, *state, buf)``, as the
equations of its docstring for arrays of one shape. The rules work in place, in the arrays
they update and in ``buf``, scratch space of their shape, so that a step allocates nothing:
``scaled(g, lr, buf)`` is ``lr * g``, written into ``buf``. The base class
(:mod:`.optimizer_base`) checks the hyperparameters and saves the state; the rule is run over
a network's flat buffer, in cache-sized pieces, by :mod:`.flat_update`.
"""

import math

import numpy as np

from bprop.layers.registry import Registry

from .optimizer_base import POSITIVE, UNIT, Hyperparameter, Optimizer

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam",
           "OPTIMIZERS", "get_optimizer"]


def scaled(x, c, out):
    """``c * x``, written into ``out``."""
    return np.multiply(x, c, out=out)


def square(x, out):
    """``x * x``, written into ``out``."""
    return np.multiply(x, x, out=out)


def moving_average(avg, x, decay, buf):
    """``avg = decay * avg + (1 - decay) * x``, in place; ``buf`` is scratch and may be ``x``."""
    avg *= decay
    avg += scaled(x, 1.0 - decay, buf)


def rms_step(x, h, lr, eps, buf, rms_scale=None):
    """``lr * x / (sqrt(h) + eps)``, written into ``buf``; with ``rms_scale``,
    ``lr * x / (sqrt(h) * rms_scale + eps)``."""
    step = np.sqrt(h, out=buf)
    if rms_scale is not None:
        step *= rms_scale
    step += eps
    np.divide(x, step, out=step)
    step *= lr
    return step


#: the optimizers by name, for builders and command lines (``choices=sorted(OPTIMIZERS)``);
#: each class below joins it by the ``@OPTIMIZERS.register`` line above it
OPTIMIZERS = Registry("optimizer", fold_case=True)


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g``."""

    def __init__(self, lr=0.01):
        super().__init__(lr)

    def _rule(self, p, g, buf):
        p -= scaled(g, self.lr, buf)


@OPTIMIZERS.register("momentum")
class Momentum(Optimizer):
    """SGD with momentum, in the velocity form: ``v = momentum * v - lr * g; p += v``.

    (The other common convention, ``v = momentum * v + g; p -= lr * v``, is the same
    rule with ``v`` scaled by ``-lr`` when lr is constant.)
    """

    state_names = ("v",)
    momentum = Hyperparameter(UNIT)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = momentum

    def _rule(self, p, g, v, buf):
        v *= self.momentum
        v -= scaled(g, self.lr, buf)
        p += v


@OPTIMIZERS.register("nesterov")
class Nesterov(Momentum):
    """Nesterov's accelerated gradient, momentum that looks ahead, in the form used by
    PyTorch's SGD(nesterov=True): ``b = momentum * b + g; p -= lr * (g + momentum * b)``.
    """

    state_names = ("b",)

    def _rule(self, p, g, b, buf):
        b *= self.momentum
        b += g
        step = scaled(b, self.momentum, buf)
        step += g
        step *= self.lr
        p -= step


@OPTIMIZERS.register("adagrad")
class AdaGrad(Optimizer):
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + eps)``."""

    state_names = ("h",)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.01, eps=1e-10):
        super().__init__(lr)
        self.eps = eps

    def _rule(self, p, g, h, buf):
        h += square(g, buf)
        p -= rms_step(g, h, self.lr, self.eps, buf)


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop: ``h = decay_rate * h + (1 - decay_rate) * g * g; p -= lr * g / (sqrt(h) + eps)``."""

    state_names = ("h",)
    decay_rate = Hyperparameter(UNIT)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-8):
        super().__init__(lr)
        self.decay_rate = decay_rate
        self.eps = eps

    def _rule(self, p, g, h, buf):
        moving_average(h, square(g, buf), self.decay_rate, buf)
        p -= rms_step(g, h, self.lr, self.eps, buf)


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with eps added to the bias-corrected ``sqrt(v_hat)``::

        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (sqrt(v_hat) + eps)

    ``t`` counts calls of ``update`` and is shared by all parameters.
    """

    state_names = ("m", "v")
    counters = ("t",)
    beta1 = Hyperparameter(UNIT)
    beta2 = Hyperparameter(UNIT)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0

    def _begin_step(self):
        self.t += 1
        # The bias corrections are scalars, so they go where they cost no pass over the
        # arrays: lr * m_hat == (lr / (1 - beta1**t)) * m, and
        # sqrt(v_hat) == sqrt(v) * (1 / sqrt(1 - beta2**t)).
        self._lr_hat = self.lr / (1.0 - self.beta1 ** self.t)
        self._inv_sqrt_c2 = 1.0 / math.sqrt(1.0 - self.beta2 ** self.t)

    def _rule(self, p, g, m, v, buf):
        moving_average(m, g, self.beta1, buf)
        moving_average(v, square(g, buf), self.beta2, buf)
        p -= rms_step(m, v, self._lr_hat, self.eps, buf, rms_scale=self._inv_sqrt_c2)


def get_optimizer(name, **kwargs):
    """Build an optimizer by its name (case-insensitive): ``get_optimizer('Adam', lr=1e-3)``.

    An unknown name is a ValueError listing the names of :data:`OPTIMIZERS`.
    """
    return OPTIMIZERS.lookup(name)(**kwargs)
