"""Weight initialisation: the Gaussian scales of He and Xavier, by a layer's fan-in."""

import numbers

import numpy as np

#: names accepted for ``init``, each mapped to its scale rule
INIT_NAMES = ("he", "relu", "xavier", "sigmoid", "tanh")


def init_scale(init, fan_in, name="init"):
    """Standard deviation of the Gaussian initial weights of a layer with ``fan_in`` inputs.

    ``'he'`` / ``'relu'``: ``sqrt(2 / fan_in)`` (He et al., 2015), which keeps the
    variance of ReLU activations constant through depth; ``'xavier'`` / ``'sigmoid'`` /
    ``'tanh'``: ``sqrt(1 / fan_in)`` (Glorot and Bengio, 2010, in its fan-in form); a
    positive number is used as it is. ``name`` is the argument named in errors.
    """
    if isinstance(init, str):
        key = init.lower()
        if key in ("relu", "he"):
            return float(np.sqrt(2.0 / fan_in))
        if key in ("sigmoid", "xavier", "tanh"):
            return float(np.sqrt(1.0 / fan_in))
        raise ValueError(
            f"{name}: unknown name {init!r}; use 'he'/'relu', 'xavier'/'sigmoid'/'tanh' or a positive number"
        )
    if isinstance(init, bool) or not isinstance(init, numbers.Real):
        raise ValueError(f"{name} must be a positive number or one of {INIT_NAMES}, got {init!r}")
    std = float(init)
    if not std > 0 or not np.isfinite(std):
        raise ValueError(f"{name} must be a positive number or one of {INIT_NAMES}, got {init!r}")
    return std


def gaussian_(w, init, fan_in, rng):
    """Fill ``w`` in place with ``N(0, s**2)``, ``s = init_scale(init, fan_in)``.

    Drawn in ``w``'s dtype, so a float32 network's weights come from the float32
    stream of ``rng`` exactly as the networks have always drawn them.
    """
    scale = init_scale(init, fan_in)
    w[...] = rng.standard_normal(w.shape, dtype=w.dtype) * w.dtype.type(scale)
