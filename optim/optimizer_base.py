"""What every optimizer is: checked hyperparameters, weight decay, ``update(params, grads)``,
a state to save and restore, a readable repr; and :data:`OPTIMIZERS`, where each one is
found by name.

A subclass declares each hyperparameter as a :class:`Hyperparameter` (a switch as a
:class:`Flag`), names its per-parameter state dicts in ``state_names`` (and in
``switched_states`` those a switch adds), its integer counters in ``counters`` and its
running floats in ``carried``, and writes its update rule once, in
``_rule(p, g, *state, buf)``, for arrays of one shape (see :mod:`.optimizers`). How the rule
is run over the parameters, flat buffer, chunks and weight decay, is :mod:`.flat_update`'s
business; what a saved state must be, :mod:`.optimizer_state`'s.
"""

import inspect
import math
import numbers

import numpy as np

from bprop.layers.registry import Registry

from . import flat_update
from .flat_update import FLAT, ElementwiseUpdate
from .optimizer_state import SEP, check_fit, checked_state

__all__ = ["Hyperparameter", "Flag", "POSITIVE", "NON_NEGATIVE", "UNIT", "Optimizer", "OPTIMIZERS"]

#: the optimizers by name, for builders and command lines (``choices=sorted(OPTIMIZERS)``);
#: each class joins it by the ``@OPTIMIZERS.register`` line above it
OPTIMIZERS = Registry("optimizer", fold_case=True)


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


class Flag(Hyperparameter):
    """A switch checked whenever it is assigned: ``amsgrad = Flag()``. Only True or False
    (a NumPy bool too) passes, kept as a Python bool: ``"Adam: invalid amsgrad=1, it must
    be True or False"``."""

    def __init__(self):
        super().__init__((None, "True or False"))

    def check(self, owner, value):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(f"{owner}: invalid {self.name}={value!r}, it must be {self.requirement}")


#: rules for :class:`Hyperparameter`
POSITIVE = (lambda x: x > 0 and math.isfinite(x), "a finite number > 0")
NON_NEGATIVE = (lambda x: x >= 0 and math.isfinite(x), "a finite number >= 0")
UNIT = (lambda x: 0.0 <= x < 1.0, "in [0, 1)")


class Optimizer:
    """Base class of the optimizers: ``update(params, grads)`` moves every ``params[k]`` in
    place by the subclass's ``_rule``, after the weight decay.

    Weight decay is written here once for every optimizer. By default it is PyTorch's
    coupled L2 penalty: the rule is handed ``g + weight_decay * p`` in place of ``g``, in
    scratch space (the caller's gradients are never written). A class with
    ``decoupled_weight_decay = True`` (AdamW) instead shrinks the parameter before its rule,
    ``p *= 1 - lr * weight_decay``. With ``weight_decay=0`` neither costs a pass.

    Every hyperparameter is checked whenever it is set, in ``__init__``, by an lr schedule
    or by hand (``opt.beta2 = 1.0`` raises like ``Adam(beta2=1.0)``); :meth:`state_dict` /
    :meth:`load_state_dict` save and restore everything an optimizer carries from one step
    to the next, so a resumed run repeats the uninterrupted one bit for bit.

    Attributes
    ----------
    hyper : tuple of str
        The hyperparameters, in the order of the constructor's arguments (those it does
        not take last): what repr shows and :meth:`state_dict` saves. Collected from the
        class's :class:`Hyperparameter` attributes.
    state_names : tuple of str
        Attribute names of the per-parameter state dicts always kept (Momentum's ``'v'``).
    switched_states : dict
        Switch -> names of the state dicts kept while that :class:`Flag` is on
        (Adam's ``{'amsgrad': ('v_max',)}``); see :meth:`states_of`.
    counters : tuple of str
        Attribute names of integer counters carried from step to step (Adam's ``'t'``).
    carried : tuple of str
        Attribute names of floats carried from step to step (NAdam's ``'mu_product'``).
    scratch : int
        Scratch arrays the rule takes after its state (``buf``; Adadelta takes two).
    decoupled_weight_decay : bool
        Whether ``weight_decay`` shrinks ``p`` (AdamW) rather than adding to ``g``.
    CHUNK : int
        Elements per piece the rule is handed (see :mod:`.flat_update`).
    """

    hyper = ("lr", "weight_decay")
    state_names = ()
    switched_states = {}
    counters = ()
    carried = ()
    scratch = 1
    decoupled_weight_decay = False
    CHUNK = flat_update.CHUNK

    # A schedule may change lr between steps; like every hyperparameter, it is
    # checked each time it is set.
    lr = Hyperparameter(POSITIVE)
    weight_decay = Hyperparameter(NON_NEGATIVE)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = []
        for klass in reversed(cls.__mro__):
            names += [n for n, a in vars(klass).items() if isinstance(a, Hyperparameter) and n not in names]
        order = list(inspect.signature(cls.__init__).parameters)
        cls.hyper = tuple(sorted(names, key=lambda n: order.index(n) if n in order else len(order)))

    def __init__(self, lr, weight_decay=0.0):
        self.lr = lr
        self.weight_decay = weight_decay
        self._elementwise = ElementwiseUpdate()
        # key -> shape a loaded state expects of the next update's parameters
        self._expected_shapes = None
        self.decay_keys = None  # None: the weight decay reaches every parameter (see decay_only)
        for name in self.state_names:
            setattr(self, name, {})

    def decay_only(self, keys):
        """Let the weight decay reach only the parameters ``keys`` (a network's
        ``decay_keys``: its weight matrices and embeddings, not its biases or normalisation
        gains); the others take the same step without decay, as PyTorch's second parameter
        group with ``weight_decay=0``. ``None``: every parameter again. Returns the optimizer."""
        self.decay_keys = None if keys is None else frozenset(keys)
        return self

    @classmethod
    def states_of(cls, hyper):
        """The per-parameter state an optimizer of this class with the hyperparameters
        ``hyper`` (name -> value) keeps: ``state_names``, then the states of each switch
        of ``switched_states`` that is on."""
        switched = (name for flag, names in cls.switched_states.items() if hyper[flag] for name in names)
        return (*cls.state_names, *switched)

    @property
    def active_state_names(self):
        """The per-parameter state this optimizer keeps now (:meth:`states_of` its own
        hyperparameters): what :meth:`update` moves and :meth:`state_dict` saves."""
        return self.states_of({flag: getattr(self, flag) for flag in self.switched_states})

    def update(self, params, grads):
        """Move every ``params[k]`` in place using ``grads[k]``, by the rule of the class,
        after the weight decay."""
        if self._expected_shapes is not None:
            check_fit(self, self._expected_shapes, params, "update")
            self._expected_shapes = None
        stores = self._stores()
        split = self.decay_keys is not None and self.weight_decay != 0.0
        if split:  # two groups of separate arrays: the flat buffer as one would decay both
            params = {k: params[k] for k in params}
        params, grads = self._elementwise.match(type(self).__name__, params, grads, stores)
        self._begin_step()
        decay = self.weight_decay
        l2, shrink = (0.0, 1.0 - self.lr * decay) if self.decoupled_weight_decay else (decay, 1.0)
        groups = [(params, l2, shrink)]
        if split:
            groups = [({k: p for k, p in params.items() if k in self.decay_keys}, l2, shrink),
                      ({k: p for k, p in params.items() if k not in self.decay_keys}, 0.0, 1.0)]
        rule = self._step_rule()
        for group, group_l2, group_shrink in groups:
            self._elementwise.apply(rule, group, grads, stores, self.CHUNK, self.scratch, group_l2, group_shrink)

    def _stores(self):
        """The state dicts of :attr:`active_state_names`. One a switch has just turned on
        starts empty, and the next flat update links the stores afresh to take it in."""
        names = self.active_state_names
        for name in names:
            if name not in self.__dict__:
                setattr(self, name, {})
                self._elementwise.unlink()
        return [getattr(self, name) for name in names]

    def _begin_step(self):
        """Per-step scalars (Adam's step count and bias corrections)."""

    def _step_rule(self):
        """The rule this step runs: ``_rule``, unless a switch picks another (Adam's amsgrad)."""
        return self._rule

    def _rule(self, p, g, *state_and_buf):
        """Move ``p`` in place by ``g``; update each state array in place; ``buf`` is scratch."""
        raise NotImplementedError

    def state_dict(self):
        """Everything the next steps depend on, as ``{'scalars': {...}, 'arrays': {...}}``.

        ``scalars`` holds plain Python values, ready for JSON: ``'type'`` (the class
        name), every hyperparameter of ``hyper``, every counter of ``counters`` (Adam's
        step count ``'t'``) and every float of ``carried`` (NAdam's ``'mu_product'``).
        ``arrays`` is a flat dict, ready for ``np.savez``, of copies of the per-parameter
        state of :attr:`active_state_names`: key ``'<state>/<param>'``, for example
        ``'v/W1'`` (Momentum's velocity of ``params['W1']``) or ``'m/b2'`` (Adam's first
        moment of ``params['b2']``), each array of its parameter's shape and dtype. An
        optimizer that has not stepped yet has no arrays.
        """
        scalars = {"type": type(self).__name__}
        scalars.update((h, getattr(self, h)) for h in self.hyper)
        scalars.update((c, int(getattr(self, c))) for c in self.counters)
        scalars.update((c, float(getattr(self, c))) for c in self.carried)
        arrays = {}
        for name in self.active_state_names:
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
        for name in self.states_of({flag: True for flag in self.switched_states}):
            self.__dict__.pop(name, None)  # a state the loaded switches turn off is gone
        for name, store in stores.items():
            setattr(self, name, {key: np.array(a, copy=True) for key, a in store.items()})
        self._elementwise.unlink()  # the next flat update links the loaded arrays into one buffer
        self._expected_shapes = shapes if shapes and params is None else None

    def check_state_dict(self, state, params=None):
        """Raise a :class:`~bprop.optim.state_checks.StateError` (a ValueError) if
        :meth:`load_state_dict` would refuse ``state``; change nothing.

        Checked: the type; that the scalars are exactly ``'type'``, ``hyper``,
        ``counters`` and ``carried``, each valid; that the arrays give every state of
        :meth:`states_of` the saved hyperparameters for the same parameters with the same shapes, each floating point and finite
        (also once cast to its parameter's dtype, the dtype it is kept in); and, given
        ``params``, that those parameters are ``params`` (same keys, same shapes).
        The error's ``field`` is the place in the state (``'arrays/m/W1'``).
        """
        checked_state(self, state, params)

    def __repr__(self):
        args = ", ".join(f"{h}={getattr(self, h)!r}" for h in self.hyper)
        return f"{type(self).__name__}({args})"
