"""Optimizers, in order of increasing complexity.

Each one is an object with ``update(params, grads)`` that moves every array of
``params`` in place (``p -= ...``), so layers that hold references to those arrays
see the new values. Per-parameter state (velocities, squared-gradient sums,
moments) is created lazily on the first ``update`` and kept in the parameter's dtype.
"""

import math

import numpy as np

#: the state key of a whole flat buffer (see ``Optimizer.update``)
_FLAT = "__flat__"


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


def _divide_by_rms(p, g, h, buf, lr, eps):
    """The step AdaGrad and RMSprop share: ``p -= lr * g / (sqrt(h) + eps)``, in ``buf``."""
    np.sqrt(h, out=buf)
    buf += eps
    np.divide(g, buf, out=buf)
    buf *= lr
    p -= buf


class Optimizer:
    """Base class: hyperparameter checks, the params/grads match, the loop, a readable repr.

    A subclass names its per-parameter state dicts in ``state_names`` and writes its
    rule once, in ``_rule(p, g, *state, buf)``, for arrays of one shape: ``p`` is
    updated in place, ``buf`` is scratch space of that shape. The loop hands the rule
    pieces of at most ``CHUNK`` elements, so that every pass of the rule over a large
    parameter runs in cache, and nothing is allocated per step.
    """

    #: names of the hyperparameters shown by repr, in order
    hyper = ("lr",)
    #: attribute names of the per-parameter state dicts
    state_names = ()
    #: elements per piece handed to ``_rule`` (1 MiB of float32: the passes of a rule
    #: over one piece stay in a core's L2 cache; measured best on 784-1000-1000-10)
    CHUNK = 1 << 18

    def __init__(self, lr):
        self.lr = lr
        self._layout = None
        self._scratch = {}
        for name in self.state_names:
            setattr(self, name, {})

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        # A schedule may change lr between steps; it is checked every time.
        self._lr = _check_lr(type(self).__name__, value)

    def update(self, params, grads):
        """Move every ``params[k]`` in place using ``grads[k]``.

        When both dicts are views of contiguous buffers with one layout (a network's
        ``params`` and the gradients it returns, see ``networks.flat_params``), the
        rule runs over the whole buffer at once: the same arithmetic element by
        element, with fewer operations than one set per parameter.
        """
        p_flat = getattr(params, "flat", None)
        g_flat = getattr(grads, "flat", None)
        if (p_flat is not None and g_flat is not None and p_flat.shape == g_flat.shape
                and params.layout == grads.layout):
            if self._layout != params.layout:
                self._link_state(params.layout, p_flat)
            self._step({_FLAT: p_flat}, {_FLAT: g_flat})
            return
        name = type(self).__name__
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(f"{name}.update: no gradient for parameter(s) {missing}")
        for k, p in params.items():
            g = grads[k]
            if g.shape != p.shape:
                raise ValueError(f"{name}.update: grads[{k!r}] has shape {g.shape}, params[{k!r}] {p.shape}")
        self._step(params, grads)

    def _begin_step(self):
        """Per-step scalars (Adam's step count and bias corrections)."""

    def _rule(self, p, g, *args):
        raise NotImplementedError

    def _step(self, params, grads):
        self._begin_step()
        stores = [getattr(self, name) for name in self.state_names]
        chunk = self.CHUNK
        for k, p in params.items():
            g = np.asarray(grads[k], dtype=p.dtype)
            state = [self._state(store, k, p) for store in stores]
            scratch = self._scratch.get(p.dtype)
            if scratch is None or scratch.size < min(p.size, chunk):
                scratch = self._scratch[p.dtype] = np.empty(max(min(p.size, chunk), 1), dtype=p.dtype)
            if p.size <= chunk or not (p.flags.c_contiguous and g.flags.c_contiguous):
                buf = scratch[:p.size].reshape(p.shape) if p.size <= scratch.size else np.empty_like(p)
                self._rule(p, g, *state, buf)
                continue
            pf, gf = p.reshape(-1), g.reshape(-1)
            sf = [s.reshape(-1) for s in state]
            for a in range(0, p.size, chunk):
                b = min(a + chunk, p.size)
                self._rule(pf[a:b], gf[a:b], *[s[a:b] for s in sf], scratch[:b - a])

    def _link_state(self, layout, p_flat):
        """Give every state dict one flat array for a buffer layout, plus per-key views of it.

        State already kept for a key is carried over, so switching between dicts of
        separate arrays and flat buffers never loses a velocity or a moment.
        """
        self._layout = layout
        for name in self.state_names:
            store = getattr(self, name)
            flat = np.zeros_like(p_flat)
            for key, a, b, shape in layout:
                view = flat[a:b].reshape(shape)
                old = store.get(key)
                if old is not None and old.shape == shape:
                    view[...] = old
                store[key] = view
            store[_FLAT] = flat

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

    def _rule(self, p, g, buf):
        np.multiply(g, self.lr, out=buf)
        p -= buf


class Momentum(Optimizer):
    """SGD with momentum, in the velocity form: ``v = momentum * v - lr * g; p += v``.

    (The other common convention, ``v = momentum * v + g; p -= lr * v``, is the same
    rule with ``v`` scaled by ``-lr`` when lr is constant.)
    """

    hyper = ("lr", "momentum")
    state_names = ("v",)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = _check_unit("Momentum", "momentum", momentum)

    def _rule(self, p, g, v, buf):
        v *= self.momentum
        np.multiply(g, self.lr, out=buf)
        v -= buf
        p += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient, in the form used by PyTorch's SGD(nesterov=True):
    ``b = momentum * b + g; p -= lr * (g + momentum * b)``.
    """

    hyper = ("lr", "momentum")
    state_names = ("b",)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = _check_unit("Nesterov", "momentum", momentum)

    def _rule(self, p, g, b, buf):
        b *= self.momentum
        b += g
        np.multiply(b, self.momentum, out=buf)
        buf += g
        buf *= self.lr
        p -= buf


class AdaGrad(Optimizer):
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper = ("lr", "eps")
    state_names = ("h",)

    def __init__(self, lr=0.01, eps=1e-10):
        super().__init__(lr)
        self.eps = _check_eps("AdaGrad", eps)

    def _rule(self, p, g, h, buf):
        np.multiply(g, g, out=buf)
        h += buf
        _divide_by_rms(p, g, h, buf, self.lr, self.eps)


class RMSprop(Optimizer):
    """RMSprop: ``h = decay_rate * h + (1 - decay_rate) * g * g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper = ("lr", "decay_rate", "eps")
    state_names = ("h",)

    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-8):
        super().__init__(lr)
        self.decay_rate = _check_unit("RMSprop", "decay_rate", decay_rate)
        self.eps = _check_eps("RMSprop", eps)

    def _rule(self, p, g, h, buf):
        h *= self.decay_rate
        np.multiply(g, g, out=buf)
        buf *= 1.0 - self.decay_rate
        h += buf
        _divide_by_rms(p, g, h, buf, self.lr, self.eps)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with eps added to the bias-corrected ``sqrt(v_hat)``::

        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    ``t`` counts calls of ``update`` and is shared by all parameters.
    """

    hyper = ("lr", "beta1", "beta2", "eps")
    state_names = ("m", "v")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1 = _check_unit("Adam", "beta1", beta1)
        self.beta2 = _check_unit("Adam", "beta2", beta2)
        self.eps = _check_eps("Adam", eps)
        self.t = 0

    def _begin_step(self):
        self.t += 1
        self._step_size = self.lr / (1.0 - self.beta1 ** self.t)
        # sqrt(v / c2) == sqrt(v) / sqrt(c2): one pass fewer, same rule.
        self._inv_sqrt_c2 = 1.0 / math.sqrt(1.0 - self.beta2 ** self.t)

    def _rule(self, p, g, m, v, buf):
        m *= self.beta1
        np.multiply(g, 1.0 - self.beta1, out=buf)
        m += buf
        v *= self.beta2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - self.beta2
        v += buf
        np.sqrt(v, out=buf)
        buf *= self._inv_sqrt_c2
        buf += self.eps
        np.divide(m, buf, out=buf)
        buf *= self._step_size
        p -= buf


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
