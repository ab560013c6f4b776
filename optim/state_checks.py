"""The checks a saved state must pass before anything is restored from it.

Each part of a run that keeps state (the optimizer, a callback, the batch source, the
Trainer itself) checks its own piece with these helpers before it changes anything, and
raises a :class:`StateError` that says where in its piece the fault is (``'arrays/m/W1'``).
The Trainer turns that into one :class:`CheckpointError` that names the file and the whole
path (``'run.npz: optimizer/arrays/m/W1 holds 1 non-finite value(s) ...'``).

The helpers check dicts (:func:`check_mapping`), counts (:func:`check_count`), finite
numbers (:func:`check_real`), floating-point arrays of a shape (:func:`check_array`,
:func:`check_arrays`), random-generator states (:func:`check_rng_state`), and a value of
the make of the one it replaces (:func:`check_like`).
"""

import math
import numbers
from collections.abc import Mapping

import numpy as np


class CheckpointError(ValueError):
    """A file that is not a checkpoint this code can read (corrupt, of another kind, newer),
    or whose contents cannot be resumed: the message names the file and the field."""


class StateError(ValueError):
    """A state (``state_dict()``) that cannot be restored, found before anything changed.

    Parameters
    ----------
    owner : who refuses it (``'Adam.load_state_dict'``, ``'EarlyStopping'``).
    field : where in the state the fault is, its keys joined by ``'/'`` (``'arrays/m/W1'``);
        ``''`` for the state as a whole.
    problem : what is wrong, ending in ``': got <value>'`` where a value can be shown.
    message : the text of the error, when it should read otherwise than
        ``'<owner>: <field> <problem>'``.
    """

    def __init__(self, owner, field, problem, message=None):
        self.owner, self.field, self.problem = owner, field, problem
        super().__init__(message or f"{owner}: {field or 'the state'} {problem}")

    def in_file(self, source, prefix=""):
        """The :class:`CheckpointError` for this fault in the file ``source``, whose state
        sits under ``prefix`` there (``'optimizer'``, ``'callbacks/EarlyStopping'``)."""
        field = "/".join(p for p in (prefix, self.field) if p)
        return CheckpointError(f"{source}: {field or 'the state'} {self.problem}")


def shown(value, limit=120):
    """``value`` as an error message shows it: an array by its dtype and shape, anything
    else by ``repr``, cut to ``limit`` characters."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def join(field, key):
    """``field/key`` (just ``key`` at the top)."""
    return f"{field}/{key}" if field else str(key)


def check_mapping(owner, field, state, keys=(), exact=False):
    """``state`` as a dict that has every key of ``keys`` (and no other with ``exact``)."""
    if not isinstance(state, Mapping):
        raise StateError(owner, field, f"must be a dict: got {shown(state)}")
    for key in keys:
        if key not in state:
            raise StateError(owner, join(field, key), f"is missing: got the keys {sorted(map(str, state))}")
    if exact:
        extra = sorted(str(k) for k in state if k not in keys)
        if extra:
            raise StateError(owner, join(field, extra[0]), f"is not expected: got the keys {sorted(map(str, state))}, "
                                                           f"expected {sorted(keys)}")
    return state


def check_count(owner, field, value, low=0):
    """``value`` as an int >= ``low`` (a bool or a float that equals an integer is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise StateError(owner, field, f"must be an integer >= {low}: got {shown(value)}")
    return int(value)


def check_real(owner, field, value, low=None, low_open=False, allow_none=False):
    """``value`` as a finite float (``> low`` with ``low_open``, else ``>= low``), or None
    when ``allow_none``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if not ok:
        bound = "" if low is None else f" {'>' if low_open else '>='} {low!r}"
        either = " or None" if allow_none else ""
        raise StateError(owner, field, f"must be a finite number{bound}{either}: got {shown(value)}")
    return float(value)


def check_array(owner, field, value, like=None):
    """``value`` as a floating-point array with only finite values; with ``like`` (an array),
    of exactly its shape (no broadcasting) and finite also once cast to its dtype (the
    values as they will be stored)."""
    if not isinstance(value, np.ndarray):
        raise StateError(owner, field, f"must be an array: got {shown(value)}")
    if value.dtype.kind != "f":
        raise StateError(owner, field, f"must hold floating-point numbers: got dtype {value.dtype}")
    if like is not None and value.shape != like.shape:
        raise StateError(owner, field, f"must have the shape {like.shape}: got {value.shape}")
    with np.errstate(over="ignore"):  # a value too large for the stored dtype becomes inf: refused below
        stored = value if like is None or like.dtype.kind != "f" else value.astype(like.dtype)
    bad = np.flatnonzero(~np.isfinite(stored))
    if bad.size:
        index = tuple(int(i) for i in np.unravel_index(bad[0], value.shape)) if value.ndim else ()
        cast = "" if stored is value or stored.dtype == value.dtype else f" once cast to {stored.dtype}"
        raise StateError(owner, field, f"must hold finite numbers{cast}: got {bad.size} non-finite value(s), "
                                       f"the first {value[index].item()!r} at index {index}")
    return value


def check_arrays(owner, field, arrays, like):
    """``arrays`` as a dict with exactly the keys of ``like`` (a dict of arrays), each checked
    against its counterpart by :func:`check_array`."""
    check_mapping(owner, field, arrays)
    missing = [k for k in like if k not in arrays]
    if missing:
        raise StateError(owner, join(field, missing[0]), f"is missing: got the keys {sorted(arrays)}")
    extra = [k for k in arrays if k not in like]
    if extra:
        raise StateError(owner, join(field, extra[0]), f"is not expected: the keys are {list(like)}")
    return {k: check_array(owner, join(field, k), arrays[k], a) for k, a in like.items()}


def check_rng_state(owner, field, state, kind):
    """``state`` as the state of a NumPy bit generator of class ``kind`` (``'PCG64'``): it is
    set on a new generator of that class, which must then give back the same state."""
    fresh = getattr(np.random, kind, None) if isinstance(kind, str) else None
    if not (isinstance(fresh, type) and issubclass(fresh, np.random.BitGenerator)):
        raise StateError(owner, field, f"is not the state of a NumPy bit generator: got {shown(kind)}")
    generator = fresh()
    try:
        generator.state = state
        ok = _same(generator.state, state)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as err:
        raise StateError(owner, field, f"is not a {kind} state ({type(err).__name__}: {err}): "
                                       f"got {shown(state)}") from None
    if not ok:
        raise StateError(owner, field, f"is not a {kind} state (it does not read back as written): "
                                       f"got {shown(state)}")


def _same(a, b):
    """Whether two states are equal, arrays compared by value (MT19937 keeps an array)."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (isinstance(a, Mapping) and isinstance(b, Mapping) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    return type(a) is type(b) and a == b or (isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral)
                                             and not isinstance(b, bool) and a == b)


def check_like(owner, field, saved, current):
    """``saved`` of the same make as ``current``, the value it will replace: the same keys,
    arrays of the same shape (finite floating-point ones where ``current`` has floats), bit
    generator states of the same class, bools for bools, numbers for numbers, strings for
    strings. Where ``current`` is None (not known yet: a recurrent layer's carried state
    before its first batch), ``saved`` may be None or a finite floating-point array."""
    if isinstance(current, Mapping) and isinstance(current.get("bit_generator"), str):
        check_rng_state(owner, field, saved, current["bit_generator"])
    elif isinstance(current, Mapping):
        check_mapping(owner, field, saved, list(current), exact=True)
        for key, value in current.items():
            check_like(owner, join(field, key), saved[key], value)
    elif isinstance(current, np.ndarray):
        if current.dtype.kind == "f":
            check_array(owner, field, saved, current)
        elif not isinstance(saved, np.ndarray) or saved.shape != current.shape:
            raise StateError(owner, field, f"must be an array of shape {current.shape}: got {shown(saved)}")
    elif current is None:
        if saved is not None:
            check_array(owner, field, saved)
    elif isinstance(current, (bool, np.bool_)):
        if not isinstance(saved, (bool, np.bool_)):
            raise StateError(owner, field, f"must be True or False: got {shown(saved)}")
    elif isinstance(current, numbers.Real):
        if isinstance(saved, bool) or not isinstance(saved, numbers.Real):
            raise StateError(owner, field, f"must be a number: got {shown(saved)}")
    elif isinstance(current, str):
        if not isinstance(saved, str):
            raise StateError(owner, field, f"must be a string: got {shown(saved)}")
    elif isinstance(current, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(current):
            raise StateError(owner, field, f"must be a list of {len(current)} values: got {shown(saved)}")
        for i, (s, c) in enumerate(zip(saved, current)):
            check_like(owner, join(field, i), s, c)

