"""Optimizers, in order of increasing complexity.

Each one is an object with ``update(params, grads)`` that moves every array of
``params`` in place (``p -= ...``), so layers that hold references to those arrays
see the new values. Per-parameter state (velocities, squared-gradient sums,
moments) is created lazily on the first ``update`` and kept in the parameter's dtype.
"""

import math

import numpy as np


def _check_lr(owner, lr):
    lr = float(lr)
    if not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"{owner}: invalid learning rate lr={lr}, it must be a finite number > 0")
    return lr


def _check_unit(owner, name, value):
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: invalid {name}={value}, it must be in [0, 1)")
    return value


def _check_eps(owner, eps):
    eps = float(eps)
    if not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"{owner}: invalid eps={eps}, it must be a finite number > 0")
    return eps


class Optimizer:
    """Base class: hyperparameter checks, the params/grads match, a readable repr."""

    #: names of the hyperparameters shown by repr, in order
    hyper = ("lr",)

    def __init__(self, lr):
        self.lr = lr

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        # A schedule may change lr between steps; it is checked every time.
        self._lr = _check_lr(type(self).__name__, value)

    def update(self, params, grads):
        """Move every ``params[k]`` in place using ``grads[k]``."""
        name = type(self).__name__
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(f"{name}.update: no gradient for parameter(s) {missing}")
        for k, p in params.items():
            g = grads[k]
            if g.shape != p.shape:
                raise ValueError(f"{name}.update: grads[{k!r}] has shape {g.shape}, params[{k!r}] {p.shape}")
        self._step(params, grads)

    def _step(self, params, grads):
        raise NotImplementedError

    def _state(self, store, key, p):
        # Lazy state initialization: one zero array per parameter, in its dtype.
        s = store.get(key)
        if s is None or s.shape != p.shape or s.dtype != p.dtype:
            s = store[key] = np.zeros_like(p)
        return s

    def __repr__(self):
        args = ", ".join(f"{h}={getattr(self, h)!r}" for h in self.hyper)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g``."""

    def __init__(self, lr=0.01):
        super().__init__(lr)

    def _step(self, params, grads):
        lr = self.lr
        for k, p in params.items():
            p -= lr * grads[k]


class Momentum(Optimizer):
    """SGD with momentum, in the velocity form: ``v = momentum * v - lr * g; p += v``.

    (The other common convention, ``v = momentum * v + g; p -= lr * v``, is the same
    rule with ``v`` scaled by ``-lr`` when lr is constant.)
    """

    hyper = ("lr", "momentum")

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = _check_unit("Momentum", "momentum", momentum)
        self.v = {}

    def _step(self, params, grads):
        lr, mu = self.lr, self.momentum
        for k, p in params.items():
            v = self._state(self.v, k, p)
            v *= mu
            v -= lr * grads[k]
            p += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient, in the form used by PyTorch's SGD(nesterov=True):
    ``b = momentum * b + g; p -= lr * (g + momentum * b)``.
    """

    hyper = ("lr", "momentum")

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = _check_unit("Nesterov", "momentum", momentum)
        self.b = {}

    def _step(self, params, grads):
        lr, mu = self.lr, self.momentum
        for k, p in params.items():
            g = grads[k]
            b = self._state(self.b, k, p)
            b *= mu
            b += g
            step = b * mu
            step += g
            step *= lr
            p -= step


class AdaGrad(Optimizer):
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper = ("lr", "eps")

    def __init__(self, lr=0.01, eps=1e-10):
        super().__init__(lr)
        self.eps = _check_eps("AdaGrad", eps)
        self.h = {}

    def _step(self, params, grads):
        lr, eps = self.lr, self.eps
        for k, p in params.items():
            g = grads[k]
            h = self._state(self.h, k, p)
            h += g * g
            denom = np.sqrt(h)
            denom += eps
            step = np.divide(g, denom, out=denom)
            step *= lr
            p -= step


class RMSprop(Optimizer):
    """RMSprop: ``h = decay_rate * h + (1 - decay_rate) * g * g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper = ("lr", "decay_rate", "eps")

    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-8):
        super().__init__(lr)
        self.decay_rate = _check_unit("RMSprop", "decay_rate", decay_rate)
        self.eps = _check_eps("RMSprop", eps)
        self.h = {}

    def _step(self, params, grads):
        lr, rho, eps = self.lr, self.decay_rate, self.eps
        for k, p in params.items():
            g = grads[k]
            h = self._state(self.h, k, p)
            h *= rho
            h += (1.0 - rho) * (g * g)
            denom = np.sqrt(h)
            denom += eps
            step = np.divide(g, denom, out=denom)
            step *= lr
            p -= step


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with eps added to the bias-corrected ``sqrt(v_hat)``::

        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    ``t`` counts calls of ``update`` and is shared by all parameters.
    """

    hyper = ("lr", "beta1", "beta2", "eps")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1 = _check_unit("Adam", "beta1", beta1)
        self.beta2 = _check_unit("Adam", "beta2", beta2)
        self.eps = _check_eps("Adam", eps)
        self.t = 0
        self.m = {}
        self.v = {}

    def _step(self, params, grads):
        self.t += 1
        b1, b2, eps = self.beta1, self.beta2, self.eps
        step_size = self.lr / (1.0 - b1 ** self.t)
        inv_sqrt_c2 = 1.0 / math.sqrt(1.0 - b2 ** self.t)
        for k, p in params.items():
            g = grads[k]
            m = self._state(self.m, k, p)
            v = self._state(self.v, k, p)
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            # sqrt(v / c2) == sqrt(v) / sqrt(c2): one pass fewer, same rule.
            denom = np.sqrt(v)
            denom *= inv_sqrt_c2
            denom += eps
            step = np.divide(m, denom, out=denom)
            step *= step_size
            p -= step


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def get_optimizer(name, **kwargs):
    """Build an optimizer by its name (case-insensitive): ``get_optimizer('Adam', lr=1e-3)``."""
    cls = OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return cls(**kwargs)
