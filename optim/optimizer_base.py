"""What every optimizer is: checked hyperparameters, ``update(params, grads)``, a state to
save and restore, a readable repr.

A subclass declares each hyperparameter as a :class:`Hyperparameter`, names its
per-parameter state dicts in ``state_names`` and its integer counters in ``counters``, and
writes its update rule once, in ``_rule(p, g, *state, buf)``, for arrays of one shape (see
:mod:`.optimizers`). How the rule is run over the parameters, flat buffer and chunks, is
:mod:`.flat_update`'s business; what a saved state must be, :mod:`.optimizer_state`'s.
"""

import math
import numbers

import numpy as np

from . import flat_update
from .flat_update import FLAT, ElementwiseUpdate
from .optimizer_state import SEP, check_fit, checked_state

__all__ = ["Hyperparameter", "POSITIVE", "UNIT", "Optimizer"]


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


class Optimizer:
    """Base class of the optimizers: ``update(params, grads)`` moves every ``params[k]`` in
    place by the subclass's ``_rule``.

    Every hyperparameter is checked whenever it is set, in ``__init__``, by an lr schedule
    or by hand (``opt.beta2 = 1.0`` raises like ``Adam(beta2=1.0)``); :meth:`state_dict` /
    :meth:`load_state_dict` save and restore everything an optimizer carries from one step
    to the next, so a resumed run repeats the uninterrupted one bit for bit.

    Attributes
    ----------
    hyper : tuple of str
        The hyperparameters, ``'lr'`` first, then those the class declares, in order: what
        repr shows and :meth:`state_dict` saves. Collected from the class's
        :class:`Hyperparameter` attributes.
    state_names : tuple of str
        Attribute names of the per-parameter state dicts (Momentum's ``'v'``).
    counters : tuple of str
        Attribute names of integer counters carried from step to step (Adam's ``'t'``).
    CHUNK : int
        Elements per piece the rule is handed (see :mod:`.flat_update`).
    """

    hyper = ("lr",)
    state_names = ()
    counters = ()
    CHUNK = flat_update.CHUNK

    # A schedule may change lr between steps; like every hyperparameter, it is
    # checked each time it is set.
    lr = Hyperparameter(POSITIVE)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = []
        for klass in reversed(cls.__mro__):
            names += [n for n, a in vars(klass).items() if isinstance(a, Hyperparameter) and n not in names]
        cls.hyper = tuple(names)

    def __init__(self, lr):
        self.lr = lr
        self._elementwise = ElementwiseUpdate()
        # key -> shape a loaded state expects of the next update's parameters
        self._expected_shapes = None
        for name in self.state_names:
            setattr(self, name, {})

    def update(self, params, grads):
        """Move every ``params[k]`` in place using ``grads[k]``, by the rule of the class."""
        if self._expected_shapes is not None:
            check_fit(self, self._expected_shapes, params, "update")
            self._expected_shapes = None
        stores = [getattr(self, name) for name in self.state_names]
        params, grads = self._elementwise.match(type(self).__name__, params, grads, stores)
        self._begin_step()
        self._elementwise.apply(self._rule, params, grads, stores, self.CHUNK)

    def _begin_step(self):
        """Per-step scalars (Adam's step count and bias corrections)."""

    def _rule(self, p, g, *state_and_buf):
        """Move ``p`` in place by ``g``; update each state array in place; ``buf`` is scratch."""
        raise NotImplementedError

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
                if key != FLAT:
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
        hyper, counters, stores, shapes = checked_state(self, state, params)
        for h, value in hyper.items():
            setattr(self, h, value)
        for c, value in counters.items():
            setattr(self, c, value)
        for name, store in stores.items():
            setattr(self, name, {key: np.array(a, copy=True) for key, a in store.items()})
        self._elementwise.unlink()  # the next flat update links the loaded arrays into one buffer
        self._expected_shapes = shapes if shapes and params is None else None

    def check_state_dict(self, state, params=None):
        """Raise a :class:`~bprop.optim.state_checks.StateError` (a ValueError) if
        :meth:`load_state_dict` would refuse ``state``; change nothing.

        Checked: the type; that the scalars are exactly ``'type'``, ``hyper`` and
        ``counters``, each valid; that the arrays give every state of ``state_names``
        for the same parameters with the same shapes, each floating point and finite
        (also once cast to its parameter's dtype, the dtype it is kept in); and, given
        ``params``, that those parameters are ``params`` (same keys, same shapes).
        The error's ``field`` is the place in the state (``'arrays/m/W1'``).
        """
        checked_state(self, state, params)

    def __repr__(self):
        args = ", ".join(f"{h}={getattr(self, h)!r}" for h in self.hyper)
        return f"{type(self).__name__}({args})"
