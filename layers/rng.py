"""One way to turn a seed into a random generator, used by everything random in bprop.

Nothing in bprop touches NumPy's global random state; every function or class that
draws random numbers takes ``rng`` and passes it through :func:`make_rng` (NEP 19).
"""

import numbers

import numpy as np


def make_rng(rng=None):
    """Return a ``np.random.Generator`` for ``rng``.

    Parameters
    ----------
    rng : None, int or np.random.Generator
        ``None`` gives a freshly seeded generator, an int seeds a new one, and a
        generator is returned as it is (so callers share its stream).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise ValueError(
        f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}: {rng!r}"
    )
