"""The path a callback writes to, checked when the callback is built."""

import os


def check_path(owner, name, value):
    """``value`` as a str path, or a ValueError naming ``owner`` and ``name``."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"{owner}: {name} must be a non-empty path (str or os.PathLike), got {value!r}")
    return os.fspath(value)
