"""What a saved optimizer state must be before an optimizer takes it.

An optimizer's ``state_dict()`` is ``{'scalars': {...}, 'arrays': {...}}``: the class name,
its hyperparameters, counters and carried floats, and its per-parameter state under keys
``'<state>/<param>'`` (``'m/W1'``); which states there are may depend on a saved switch
(Adam's ``amsgrad`` adds ``'v_max'``). :func:`checked_state` checks all of it against the
optimizer it is meant for, and the parameters when given, before anything changes; every
refusal is a :class:`~bprop.optim.state_checks.StateError` naming the field at fault.
"""

from collections.abc import Mapping

import numpy as np

from bprop.layers.checks import check_int

from .state_checks import StateError, check_array, check_real

__all__ = ["SEP", "checked_state", "check_fit"]

#: joins a state name and a parameter key in ``state_dict()['arrays']``: ``'m/W1'``
SEP = "/"


def checked_state(optimizer, state, params=None):
    """``(hyper, counters, stores, shapes)`` of a ``state`` that passes every check of
    :meth:`~bprop.optim.optimizer_base.Optimizer.check_state_dict`: the hyperparameters, and
    the counters and carried floats, by name, the arrays as ``{state name: {param key:
    array}}`` and the shape of each parameter's state."""
    cls = type(optimizer)
    name = cls.__name__
    owner = f"{name}.load_state_dict"

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
    if kind != name:
        fail("scalars/type", f"must be {name!r}: got {kind!r}", f"the state is of {kind!r}, not {name!r}")
    expected = {"type", *cls.hyper, *cls.counters, *cls.carried}
    missing = sorted(expected - set(scalars))
    if missing:
        fail(f"scalars/{missing[0]}", "is missing", f"scalar(s) {missing} missing from the state")
    unexpected = sorted(map(str, set(scalars) - expected))
    if unexpected:
        fail(f"scalars/{unexpected[0]}", f"is not a scalar of {name}",
             f"unexpected scalar(s) {unexpected} in the state")
    hyper = {}
    for h in cls.hyper:
        rule = getattr(cls, h)
        try:
            hyper[h] = rule.check(name, scalars[h])
        except ValueError as err:
            raise StateError(owner, f"scalars/{h}", f"must be {rule.requirement}: got {scalars[h]!r}",
                             str(err)) from None
    counters = {}
    for c in cls.counters:
        try:
            counters[c] = check_int(owner, c, scalars[c], low=0)
        except ValueError as err:
            raise StateError(owner, f"scalars/{c}", f"must be an integer >= 0: got {scalars[c]!r}",
                             str(err)) from None
    for c in cls.carried:
        counters[c] = check_real(owner, f"scalars/{c}", scalars[c])
    state_names = list(cls.states_of(hyper))  # a saved switch (amsgrad) decides some of them

    stores = {s: {} for s in state_names}
    for full_key, a in arrays.items():
        s, sep, key = str(full_key).partition(SEP)
        if not sep or s not in stores or not key:
            fail(f"arrays/{full_key}", f"is not expected: the keys are '<state>{SEP}<param>' with <state> one "
                 f"of {state_names}",
                 f"unexpected array {full_key!r}; keys are '<state>{SEP}<param>' with <state> one of "
                 f"{state_names}")
        a = np.asarray(a)
        if a.dtype.kind != "f":
            fail(f"arrays/{full_key}", f"must hold floating-point numbers: got dtype {a.dtype}",
                 f"array {full_key!r} has dtype {a.dtype}, not floating point")
        stores[s][key] = a
    shapes = {}
    for store in stores.values():
        for key, a in store.items():
            shapes.setdefault(key, a.shape)
    for s, store in stores.items():
        for key, shape in shapes.items():
            field = f"arrays/{s}{SEP}{key}"
            if key not in store:
                fail(field, f"is missing: the state has arrays for {key!r}",
                     f"array '{s}{SEP}{key}' missing from the state")
            if store[key].shape != shape:
                fail(field, f"must have the shape {shape} of the other state of {key!r}: got {store[key].shape}",
                     f"array '{s}{SEP}{key}' has shape {store[key].shape}, "
                     f"but the other state of {key!r} has shape {shape}")
    if params is not None and shapes:
        check_fit(optimizer, shapes, params, "load_state_dict")
    for s, store in stores.items():
        for key, a in store.items():  # the dtype it is kept in: its parameter's, once known
            like = params[key] if params is not None and key in params else None
            try:
                check_array(owner, f"arrays/{s}{SEP}{key}", a, like)
            except StateError as err:
                fail(err.field, err.problem, f"array '{s}{SEP}{key}' {err.problem}")
    return hyper, counters, stores, shapes


def check_fit(optimizer, shapes, params, where):
    """Refuse ``params`` other than the parameters a state of these ``shapes`` (key -> shape)
    was saved for: a StateError naming ``optimizer``'s class and ``where`` it was asked."""
    cls = type(optimizer)
    owner = f"{cls.__name__}.{where}"
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
            raise StateError(owner, f"arrays/{cls.state_names[0]}{SEP}{key}", f"does not fit: {fault}",
                             f"{owner}: {fault}")
