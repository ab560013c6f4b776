"""Optimizers, in order of increasing complexity.

Each one is an object with ``update(params, grads)`` that moves every array of
``params`` in place (``p -= ...``), so layers that hold references to those arrays
see the new values. Per-parameter state (velocities, squared-gradient sums,
moments) is created lazily on the first ``update`` and kept in the parameter's dtype.

Every hyperparameter is checked whenever it is set, in ``__init__``, by an lr
schedule or by hand (``opt.beta2 = 1.0`` raises like ``Adam(beta2=1.0)``), and
``state_dict()`` / ``load_state_dict()`` save and restore everything an optimizer
carries from one step to the next, so a resumed run repeats the uninterrupted one
bit for bit.
"""

import math
import numbers
from collections.abc import Mapping

import numpy as np

from bprop.layers.checks import check_int

from .checkpoint import StateError, check_array

#: the state key of a whole flat buffer (see ``Optimizer.update``)
_FLAT = "__flat__"
#: joins a state name and a parameter key in ``state_dict()['arrays']``: ``'m/W1'``
SEP = "/"


class Hyperparameter:
    """A number checked whenever it is assigned: ``lr = Hyperparameter(POSITIVE)``.

    ``rule`` is ``(test, requirement)``: ``test(x)`` is True for a valid float ``x``
    and ``requirement`` says so in words. A string, None or a bool is refused with the
    same ValueError as a number out of range: ``"Adam: invalid beta2=1.0, it must be
    in [0, 1)"``. The checked value is kept as a float in the instance's ``__dict__``.
    """

    def __init__(self, rule):
        self.test, self.requirement = rule
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj, value):
        obj.__dict__[self.name] = self.check(type(obj).__name__, value)

    def check(self, owner, value):
        """``value`` as a float if it passes, else the ValueError naming ``owner``."""
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            x = float(value)
            if self.test(x):
                return x
            shown = x
        else:
            shown = repr(value)
        label = "learning rate lr" if self.name == "lr" else self.name
        raise ValueError(f"{owner}: invalid {label}={shown}, it must be {self.requirement}")


#: rules for :class:`Hyperparameter`
POSITIVE = (lambda x: x > 0 and math.isfinite(x), "a finite number > 0")
UNIT = (lambda x: 0.0 <= x < 1.0, "in [0, 1)")


def _divide_by_rms(p, g, h, buf, lr, eps):
    """The step AdaGrad and RMSprop share: ``p -= lr * g / (sqrt(h) + eps)``, in ``buf``."""
    np.sqrt(h, out=buf)
    buf += eps
    np.divide(g, buf, out=buf)
    buf *= lr
    p -= buf


class Optimizer:
    """Base class: hyperparameter checks, the params/grads match, the loop, saving and
    loading the state, a readable repr.

    A subclass declares each hyperparameter as a :class:`Hyperparameter`, lists them
    in ``hyper``, names its per-parameter state dicts in ``state_names`` and its
    integer counters in ``counters`` (what :meth:`state_dict` saves), and writes its
    rule once, in ``_rule(p, g, *state, buf)``, for arrays of one shape: ``p`` is
    updated in place, ``buf`` is scratch space of that shape. The loop hands the rule
    pieces of at most ``CHUNK`` elements, so that every pass of the rule over a large
    parameter runs in cache, and nothing is allocated per step.
    """

    #: names of the hyperparameters shown by repr and saved by ``state_dict``, in order
    hyper = ("lr",)
    #: attribute names of the per-parameter state dicts
    state_names = ()
    #: attribute names of integer counters carried from step to step (Adam's ``t``)
    counters = ()
    #: elements per piece handed to ``_rule`` (1 MiB of float32: the passes of a rule
    #: over one piece stay in a core's L2 cache; measured best on 784-1000-1000-10)
    CHUNK = 1 << 18

    # A schedule may change lr between steps; like every hyperparameter, it is
    # checked each time it is set.
    lr = Hyperparameter(POSITIVE)

    def __init__(self, lr):
        self.lr = lr
        self._layout = None
        self._scratch = {}
        # key -> shape a loaded state expects of the next update's parameters
        self._expected_shapes = None
        for name in self.state_names:
            setattr(self, name, {})

    def update(self, params, grads):
        """Move every ``params[k]`` in place using ``grads[k]``.

        When both dicts are views of contiguous buffers with one layout (a network's
        ``params`` and the gradients it returns, see ``networks.flat_params``), the
        rule runs over the whole buffer at once: the same arithmetic element by
        element, with fewer operations than one set per parameter.
        """
        if self._expected_shapes is not None:
            self._check_shapes(self._expected_shapes, params, "update")
            self._expected_shapes = None
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
        if s is None or s.shape != p.shape:
            s = store[key] = np.zeros_like(p)
        elif s.dtype != p.dtype:
            # A loaded state follows its parameter's dtype instead of being lost.
            s = store[key] = s.astype(p.dtype)
        return s

    def state_dict(self):
        """Everything the next steps depend on, as ``{'scalars': {...}, 'arrays': {...}}``.

        ``scalars`` holds plain Python values, ready for JSON: ``'type'`` (the class
        name), every hyperparameter of ``hyper`` (``'lr'`` first) and every counter of
        ``counters`` (Adam's step count ``'t'``). ``arrays`` is a flat dict, ready for
        ``np.savez``, of copies of the per-parameter state: key ``'<state>/<param>'``,
        for example ``'v/W1'`` (Momentum's velocity of ``params['W1']``) or ``'m/b2'``
        (Adam's first moment of ``params['b2']``), each array of its parameter's shape
        and dtype. An optimizer that has not stepped yet has no arrays.
        """
        scalars = {"type": type(self).__name__}
        scalars.update((h, getattr(self, h)) for h in self.hyper)
        scalars.update((c, int(getattr(self, c))) for c in self.counters)
        arrays = {}
        for name in self.state_names:
            for key, s in getattr(self, name).items():
                if key != _FLAT:
                    arrays[f"{name}{SEP}{key}"] = s.copy()
        return {"scalars": scalars, "arrays": arrays}

    def load_state_dict(self, state, params=None):
        """Continue from ``state``, a :meth:`state_dict` of this optimizer's class.

        Everything is checked before anything changes (:meth:`check_state_dict`). A
        state without arrays (SGD's, or that of an optimizer that never stepped) fits any
        parameters. The arrays are copied; each takes its parameter's dtype at the next
        ``update``. Without ``params``, the match with the parameters is checked by the
        next ``update``, before it moves anything.

        Saving: ``np.savez`` the arrays and write the scalars as JSON text; read back
        with ``allow_pickle=False``, the continued run is bit-identical to one never
        interrupted, on plain dicts and on a network's flat buffer alike.

        Raises
        ------
        StateError (a ValueError)
            Naming the key at fault, and both shapes when shapes differ.
        """
        hyper, counters, stores, shapes = self._checked_state(state, params)
        for h, value in hyper.items():
            setattr(self, h, value)
        for c, value in counters.items():
            setattr(self, c, value)
        for name, store in stores.items():
            setattr(self, name, {key: np.array(a, copy=True) for key, a in store.items()})
        self._layout = None  # the next flat update links the loaded arrays into one buffer
        self._expected_shapes = shapes if shapes and params is None else None

    def check_state_dict(self, state, params=None):
        """Raise a :class:`~bprop.optim.checkpoint.StateError` (a ValueError) if
        :meth:`load_state_dict` would refuse ``state``; change nothing.

        Checked: the type; that the scalars are exactly ``'type'``, ``hyper`` and
        ``counters``, each valid; that the arrays give every state of ``state_names``
        for the same parameters with the same shapes, each floating point and finite
        (also once cast to its parameter's dtype, the dtype it is kept in); and, given
        ``params``, that those parameters are ``params`` (same keys, same shapes).
        The error's ``field`` is the place in the state (``'arrays/m/W1'``).
        """
        self._checked_state(state, params)

    def _checked_state(self, state, params):
        """``(hyper, counters, stores, shapes)`` of a state that passes every check."""
        owner = f"{type(self).__name__}.load_state_dict"

        def fail(field, problem, message):
            raise StateError(owner, field, problem, f"{owner}: {message}")

        if not isinstance(state, Mapping) or set(state) != {"scalars", "arrays"}:
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            fail("", f"must be a dict with 'scalars' and 'arrays': got {got}",
                 f"expected a dict with 'scalars' and 'arrays', got {got}")
        scalars, arrays = state["scalars"], state["arrays"]
        for part, value in (("scalars", scalars), ("arrays", arrays)):
            if not isinstance(value, Mapping):
                fail(part, f"must be a dict: got {type(value).__name__}",
                     f"'{part}' must be a dict, got {type(value).__name__}")
        kind = scalars.get("type")
        if kind != type(self).__name__:
            fail("scalars/type", f"must be {type(self).__name__!r}: got {kind!r}",
                 f"the state is of {kind!r}, not {type(self).__name__!r}")
        expected = {"type", *self.hyper, *self.counters}
        missing = sorted(expected - set(scalars))
        if missing:
            fail(f"scalars/{missing[0]}", "is missing", f"scalar(s) {missing} missing from the state")
        unexpected = sorted(map(str, set(scalars) - expected))
        if unexpected:
            fail(f"scalars/{unexpected[0]}", f"is not a scalar of {type(self).__name__}",
                 f"unexpected scalar(s) {unexpected} in the state")
        hyper = {}
        for h in self.hyper:
            rule = getattr(type(self), h)
            try:
                hyper[h] = rule.check(type(self).__name__, scalars[h])
            except ValueError as err:
                raise StateError(owner, f"scalars/{h}", f"must be {rule.requirement}: got {scalars[h]!r}",
                                 str(err)) from None
        counters = {}
        for c in self.counters:
            try:
                counters[c] = check_int(owner, c, scalars[c], low=0)
            except ValueError as err:
                raise StateError(owner, f"scalars/{c}", f"must be an integer >= 0: got {scalars[c]!r}",
                                 str(err)) from None

        stores = {name: {} for name in self.state_names}
        for full_key, a in arrays.items():
            name, sep, key = str(full_key).partition(SEP)
            if not sep or name not in stores or not key:
                fail(f"arrays/{full_key}", f"is not expected: the keys are '<state>{SEP}<param>' with <state> one "
                     f"of {list(self.state_names)}",
                     f"unexpected array {full_key!r}; keys are '<state>{SEP}<param>' with <state> one of "
                     f"{list(self.state_names)}")
            a = np.asarray(a)
            if a.dtype.kind != "f":
                fail(f"arrays/{full_key}", f"must hold floating-point numbers: got dtype {a.dtype}",
                     f"array {full_key!r} has dtype {a.dtype}, not floating point")
            stores[name][key] = a
        shapes = {}
        for name, store in stores.items():
            for key, a in store.items():
                shapes.setdefault(key, a.shape)
        for name, store in stores.items():
            for key, shape in shapes.items():
                field = f"arrays/{name}{SEP}{key}"
                if key not in store:
                    fail(field, f"is missing: the state has arrays for {key!r}",
                         f"array '{name}{SEP}{key}' missing from the state")
                if store[key].shape != shape:
                    fail(field, f"must have the shape {shape} of the other state of {key!r}: got {store[key].shape}",
                         f"array '{name}{SEP}{key}' has shape {store[key].shape}, "
                         f"but the other state of {key!r} has shape {shape}")
        if params is not None and shapes:
            self._check_shapes(shapes, params, "load_state_dict")
        for name, store in stores.items():
            for key, a in store.items():  # the dtype it is kept in: its parameter's, once known
                like = params[key] if params is not None and key in params else None
                try:
                    check_array(owner, f"arrays/{name}{SEP}{key}", a, like)
                except StateError as err:
                    fail(err.field, err.problem, f"array '{name}{SEP}{key}' {err.problem}")
        return hyper, counters, stores, shapes

    def _check_shapes(self, shapes, params, where):
        """Refuse parameters other than those a loaded state was saved for."""
        owner = f"{type(self).__name__}.{where}"
        missing = [k for k in params if k not in shapes]
        if missing:
            raise StateError(owner, "arrays", f"have nothing for the parameter(s) {missing}: got arrays for "
                             f"{sorted(shapes)}", f"{owner}: the loaded state has nothing for parameter(s) {missing}")
        unknown = [k for k in shapes if k not in params]
        if unknown:
            raise StateError(owner, "arrays", f"are for parameter(s) {unknown}, which the model does not have",
                             f"{owner}: the loaded state is for parameter(s) {unknown}, which are not in params")
        for key, shape in shapes.items():
            if params[key].shape != shape:
                fault = (f"the loaded state of {key!r} has shape {shape}, "
                         f"but params[{key!r}] has shape {params[key].shape}")
                raise StateError(owner, f"arrays/{self.state_names[0]}{SEP}{key}", f"does not fit: {fault}",
                                 f"{owner}: {fault}")

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
    momentum = Hyperparameter(UNIT)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = momentum

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
    momentum = Hyperparameter(UNIT)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = momentum

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
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.01, eps=1e-10):
        super().__init__(lr)
        self.eps = eps

    def _rule(self, p, g, h, buf):
        np.multiply(g, g, out=buf)
        h += buf
        _divide_by_rms(p, g, h, buf, self.lr, self.eps)


class RMSprop(Optimizer):
    """RMSprop: ``h = decay_rate * h + (1 - decay_rate) * g * g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper = ("lr", "decay_rate", "eps")
    state_names = ("h",)
    decay_rate = Hyperparameter(UNIT)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-8):
        super().__init__(lr)
        self.decay_rate = decay_rate
        self.eps = eps

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
