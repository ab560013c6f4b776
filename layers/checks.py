"""Argument checks shared by layers, networks and the training loop."""

import numbers

import numpy as np


def check_int(owner, name, value, low=1, allow_none=False):
    """``value`` as an int, or a ValueError ``'{owner}: {name} must be an integer >= {low}, got ...'``.

    Booleans and floats are refused, even when they equal an integer; ``None`` passes
    through when ``allow_none``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def is_size(value):
    """True for an integer (not a bool): how a layer tells ``Affine(784, 100)`` from ``Affine(W, b)``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_dtype(owner, dtype):
    """``dtype`` as a NumPy float32 or float64 dtype, or a ValueError naming ``owner``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dt if dt is not None else repr(dtype)}")
    return dt
