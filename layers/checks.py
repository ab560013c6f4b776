"""Argument checks shared by layers, networks and the training loop."""

import numbers


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
