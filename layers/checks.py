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


def check_finite_number(owner, name, value):
    """``value`` as a float, or a ValueError ``'{owner}: {name} must be a finite number, got ...'``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


def check_positive(owner, name, value, allow_none=False):
    """``value`` as a float, or a ValueError ``'{owner}: {name} must be a finite number > 0, got ...'``.

    Booleans, strings, NaN and inf are refused; ``None`` passes through when ``allow_none``
    (the message then says ``or None``).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < float("inf")):
        either = " or None" if allow_none else ""
        raise ValueError(f"{owner}: {name} must be a finite number > 0{either}, got {value!r}")
    return float(value)


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


def check_finite(owner, name, array):
    """Refuse NaN and inf in a floating-point ``array`` with a ValueError naming ``owner``,
    ``name``, how many values are bad and the index of the first one (in C order), e.g.
    ``'Trainer: x_train holds 1 non-finite value(s), the first (nan) at index (3, 17)'``.

    Arrays of other dtypes (integer labels, token ids) cannot hold NaN and pass unchecked.
    """
    a = np.asarray(array)
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return
    bad = np.flatnonzero(~np.isfinite(a.ravel()))
    index = tuple(int(i) for i in np.unravel_index(bad[0], a.shape)) if a.ndim else ()
    raise ValueError(f"{owner}: {name} holds {bad.size} non-finite value(s), the first "
                     f"({a[index]}) at index {index}")


def check_weight_and_bias(owner, W, b, layout, out_axis):
    """``(W, b)`` as arrays, checked as a layer's weights and bias: ``W`` has as many axes as
    ``layout`` names (e.g. ``'(in_features, out_features)'``), ``b`` one value per entry of
    ``W``'s axis ``out_axis``, and both one dtype. A ValueError names ``owner`` otherwise."""
    W, b = np.asarray(W), np.asarray(b)
    ndim = layout.count(",") + 1
    if W.ndim != ndim:
        raise ValueError(f"{owner}: W must be {ndim}-D {layout}, got shape {W.shape}")
    if b.shape != (W.shape[out_axis],):
        raise ValueError(f"{owner}: b must have shape ({W.shape[out_axis]},) to match W {W.shape}, got {b.shape}")
    if W.dtype != b.dtype:
        raise ValueError(f"{owner}: W and b must share a dtype, got {W.dtype} and {b.dtype}")
    return W, b


def check_sequences(owner, x, width):
    """``x`` as an array if it is a non-empty batch of sequences ``(N, T, width)``, else a
    ValueError naming ``owner`` (a layer's repr) and the shape it got."""
    x = np.asarray(x)
    if x.ndim != 3 or 0 in x.shape or x.shape[2] != width:
        raise ValueError(f"{owner}: input must be a non-empty batch of sequences (N, T, {width}), got shape {x.shape}")
    return x
