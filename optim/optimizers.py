"""Optimizers, in order of increasing complexity.

Each one is an object with ``update(params, grads)`` that moves every array of ``params``
in place (``p -= ...``), so layers that hold references to those arrays see the new values.
Per-parameter state (velocities, squared-gradient sums, moments) is created lazily on the
first ``update`` and kept in the parameter's dtype.

Each optimizer writes its update rule once, in ``_rule(p, g, *state, buf)``, as the
equations of its docstring for arrays of one shape. The rules work in place, in the arrays
they update and in ``buf``, scratch space of their shape, so that a step allocates nothing:
``scaled(g, lr, buf)`` is ``lr * g``, written into ``buf`` (:mod:`.rule_arithmetic`). The
base class (:mod:`.optimizer_base`) checks the hyperparameters and saves the state; the rule
is run over a network's flat buffer, in cache-sized pieces, by :mod:`.flat_update`.

Every optimizer takes ``weight_decay`` (default 0): PyTorch's L2 penalty, the rule run on
``g + weight_decay * p`` instead of ``g``, written once in the base class for all of them
(AdamW's decoupled form is the exception it names). Each equals the PyTorch optimizer its
docstring names, step for step; the docstring maps the arguments whose names differ.

SGD, the momentum methods, AdaGrad, RMSprop and Adadelta are here; Adam and its family
(AdamW, NAdam, RAdam) are in :mod:`.adam_family`.
"""

import numpy as np

from .optimizer_base import OPTIMIZERS, UNIT, POSITIVE, Hyperparameter, Optimizer
from .rule_arithmetic import moving_average, rms_step, scaled, square

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adadelta", "Adam", "AdamW",
           "NAdam", "RAdam", "OPTIMIZERS", "get_optimizer"]


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g``.

    PyTorch's ``torch.optim.SGD(params, lr, weight_decay=weight_decay)``.
    """

    def __init__(self, lr=0.01, weight_decay=0.0):
        super().__init__(lr, weight_decay)

    def _rule(self, p, g, buf):
        p -= scaled(g, self.lr, buf)


@OPTIMIZERS.register("momentum")
class Momentum(Optimizer):
    """SGD with momentum, in the velocity form: ``v = momentum * v - lr * g; p += v``.

    (The other common convention, PyTorch's ``torch.optim.SGD(params, lr, momentum,
    weight_decay=weight_decay)``, ``b = momentum * b + g; p -= lr * b``, is the same rule
    with ``v = -lr * b`` when lr is constant: equal up to rounding.)
    """

    state_names = ("v",)
    momentum = Hyperparameter(UNIT)

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum = momentum

    def _rule(self, p, g, v, buf):
        v *= self.momentum
        v -= scaled(g, self.lr, buf)
        p += v


@OPTIMIZERS.register("nesterov")
class Nesterov(Momentum):
    """Nesterov's accelerated gradient, momentum that looks ahead, in the form used by
    PyTorch's ``torch.optim.SGD(params, lr, momentum, weight_decay=weight_decay,
    nesterov=True)``: ``b = momentum * b + g; p -= lr * (g + momentum * b)``.
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
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + eps)``.

    PyTorch's ``torch.optim.Adagrad(params, lr, weight_decay=weight_decay, eps=eps)``
    (with its defaults ``lr_decay=0``, ``initial_accumulator_value=0``).
    """

    state_names = ("h",)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.eps = eps

    def _rule(self, p, g, h, buf):
        h += square(g, buf)
        p -= rms_step(g, h, self.lr, self.eps, buf)


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop: ``h = decay_rate * h + (1 - decay_rate) * g * g; p -= lr * g / (sqrt(h) + eps)``.

    PyTorch's ``torch.optim.RMSprop(params, lr, alpha=decay_rate, eps=eps,
    weight_decay=weight_decay)`` (``momentum=0``, ``centered=False``): our ``decay_rate``
    is its ``alpha``.
    """

    state_names = ("h",)
    decay_rate = Hyperparameter(UNIT)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.decay_rate = decay_rate
        self.eps = eps

    def _rule(self, p, g, h, buf):
        moving_average(h, square(g, buf), self.decay_rate, buf)
        p -= rms_step(g, h, self.lr, self.eps, buf)


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): RMSprop whose step carries its own units, the RMS of the
    past steps over the RMS of the gradients::

        h = rho * h + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(h + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p -= lr * delta

    PyTorch's ``torch.optim.Adadelta(params, lr, rho, eps, weight_decay)``, with the same
    defaults. ``h`` is its ``square_avg``, ``u`` its ``acc_delta``.
    """

    state_names = ("h", "u")
    scratch = 2
    rho = Hyperparameter(UNIT)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.rho, self.eps = rho, eps  # each checked by its Hyperparameter

    def _rule(self, p, g, h, u, buf, delta):
        moving_average(h, square(g, buf), self.rho, buf)
        rms_h = np.sqrt(np.add(h, self.eps, out=buf), out=buf)
        np.sqrt(np.add(u, self.eps, out=delta), out=delta)
        delta /= rms_h
        delta *= g
        moving_average(u, square(delta, buf), self.rho, buf)
        p -= scaled(delta, self.lr, buf)


def get_optimizer(name, **kwargs):
    """Build an optimizer by its name (case-insensitive): ``get_optimizer('Adam', lr=1e-3)``.

    An unknown name is a ValueError listing the names of :data:`OPTIMIZERS`.
    """
    return OPTIMIZERS.lookup(name)(**kwargs)


# The Adam family joins OPTIMIZERS after the rules above, so that the registry lists every
# optimizer in order of complexity, and importing this module alone finds all of them.
from .adam_family import Adam, AdamW, NAdam, RAdam  # noqa: E402
