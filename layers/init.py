"""Weight initialisation: the Gaussian scales of He and Xavier, by a layer's fan-in, in ``INITS``.

An initialisation is a function from a layer's fan-in to the standard deviation of its
Gaussian weights, entered in ``INITS`` on the line above it, so a new one is one
function here plus its test. Wherever an ``init`` is accepted, the name of an
activation (``'relu'``, ``'tanh'``: a key of :data:`bprop.layers.activations.ACTIVATIONS`)
stands for that activation's ``default_init``.
"""

import numbers

import numpy as np

from .activations import ACTIVATIONS
from .registry import Registry, lookup

#: weight initialisations by name, each a function ``fan_in -> std``
INITS = Registry("initialisation", fold_case=True)


@INITS.register("he")
def he_std(fan_in):
    """``sqrt(2 / fan_in)`` (He et al., 2015): keeps the variance of ReLU activations
    constant through depth, ReLU zeroing half of its inputs."""
    return float(np.sqrt(2.0 / fan_in))


@INITS.register("xavier")
def xavier_std(fan_in):
    """``sqrt(1 / fan_in)`` (Glorot and Bengio, 2010, in its fan-in form): keeps the
    variance of the pre-activations at that of the inputs, for sigmoid and tanh."""
    return float(np.sqrt(1.0 / fan_in))


def init_names():
    """Every name ``init`` accepts, sorted: the keys of :data:`INITS` and of
    :data:`bprop.layers.activations.ACTIVATIONS`."""
    return sorted(set(INITS) | set(ACTIVATIONS))


def init_rule(init, name="init"):
    """The function ``fan_in -> std`` called ``init`` (any case): a key of :data:`INITS`,
    or an activation's name for its ``default_init``. Anything else is a ValueError
    ``'{name}: unknown name ...; choose one of [...] or a positive number'``."""
    names = {key: cls.default_init for key, cls in ACTIVATIONS.items()}
    names.update((key, key) for key in INITS)
    key = lookup(names, init, "name", owner=name, fold_case=True, hint="or a positive number")
    return INITS.lookup(key, owner=f"{name}: the default_init of {init!r}")


def init_scale(init, fan_in, name="init"):
    """Standard deviation of the Gaussian initial weights of a layer with ``fan_in`` inputs.

    ``init`` is a name of :data:`INITS` (``'he'``: ``sqrt(2 / fan_in)``; ``'xavier'``:
    ``sqrt(1 / fan_in)``), an activation's name for its ``default_init`` (``'relu'`` is
    He, ``'sigmoid'`` and ``'tanh'`` are Xavier), any case; or a positive number, used
    as it is. ``name`` is the argument named in errors.
    """
    if isinstance(init, str):
        return init_rule(init, name)(fan_in)
    if isinstance(init, bool) or not isinstance(init, numbers.Real) or not 0 < float(init) < np.inf:
        raise ValueError(f"{name} must be a positive number or one of {init_names()}, got {init!r}")
    return float(init)


def gaussian_(w, init, fan_in, rng):
    """Fill ``w`` in place with ``N(0, s**2)``, ``s = init_scale(init, fan_in)``.

    Drawn in ``w``'s dtype: a float32 network's weights come from the float32 stream
    of ``rng``, with no float64 draw in between.
    """
    scale = init_scale(init, fan_in)
    w[...] = rng.standard_normal(w.shape, dtype=w.dtype) * w.dtype.type(scale)
