"""Small synthetic datasets: no download, seeded through ``rng``.

Every generator returns ``(x, t)`` with ``x`` float64 points and ``t`` int64 class
indices, ordered class by class (shuffle with :class:`datasets.MiniBatchIterator`
or :func:`datasets.train_val_split`); :func:`datasets.one_hot` encodes ``t``.
"""

import numbers

import numpy as np

from bprop.layers.rng import make_rng

# Truth tables over the inputs (0, 0), (0, 1), (1, 0), (1, 1).
LOGIC_GATES = {
    "AND": (0, 0, 0, 1),
    "NAND": (1, 1, 1, 0),
    "OR": (0, 1, 1, 1),
    "XOR": (0, 1, 1, 0),
}


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def _check_scale(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def make_spiral(n_per_class=100, n_classes=3, noise=0.2, rng=None):
    """Interleaved spiral arms, one per class: not separable by a line.

    Arm ``j`` has radius ``r = linspace(0, 1)`` and angle
    ``theta = linspace(4j, 4(j + 1)) + noise * N(0, 1)``; a point is
    ``(r sin(theta), r cos(theta))``.

    Parameters
    ----------
    n_per_class : int
        Points per arm, >= 1.
    n_classes : int
        Number of arms, >= 1.
    noise : float
        Standard deviation of the angle noise, >= 0.
    rng : None, int or np.random.Generator

    Returns
    -------
    x : (n_classes * n_per_class, 2) float64
    t : (n_classes * n_per_class,) int64
    """
    n_per_class = _check_count("n_per_class", n_per_class)
    n_classes = _check_count("n_classes", n_classes)
    noise = _check_scale("noise", noise)
    rng = make_rng(rng)
    radius = np.linspace(0.0, 1.0, n_per_class)
    # Row j is linspace(4j, 4(j + 1)): every arm turns by the same 4 radians.
    theta = 4.0 * np.arange(n_classes)[:, None] + np.linspace(0.0, 4.0, n_per_class)
    theta = theta + noise * rng.standard_normal((n_classes, n_per_class))
    x = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=-1).reshape(-1, 2)
    t = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    return x, t


def make_logic_gate(name):
    """The four inputs of a two-input logic gate and its outputs.

    Parameters
    ----------
    name : {'AND', 'NAND', 'OR', 'XOR'}
        Case-insensitive. XOR is the one a single perceptron cannot learn.

    Returns
    -------
    x : (4, 2) float64
        The rows (0, 0), (0, 1), (1, 0), (1, 1).
    t : (4,) int64
        The gate's output for each row, 0 or 1.
    """
    key = str(name).upper()
    if key not in LOGIC_GATES:
        raise ValueError(f"unknown logic gate {name!r}; expected one of {', '.join(LOGIC_GATES)}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    t = np.array(LOGIC_GATES[key], dtype=np.int64)
    return x, t


def make_moons(n_per_class=100, noise=0.1, rng=None):
    """Two interleaving half circles.

    Class 0 is ``(cos a, sin a)`` and class 1 ``(1 - cos a, 0.5 - sin a)`` for
    ``a = linspace(0, pi)``, each point plus ``noise * N(0, I)``.

    Parameters
    ----------
    n_per_class : int
        Points per half circle, >= 1.
    noise : float
        Standard deviation of the Gaussian noise, >= 0.
    rng : None, int or np.random.Generator

    Returns
    -------
    x : (2 * n_per_class, 2) float64
    t : (2 * n_per_class,) int64
    """
    n_per_class = _check_count("n_per_class", n_per_class)
    noise = _check_scale("noise", noise)
    rng = make_rng(rng)
    angle = np.linspace(0.0, np.pi, n_per_class)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((2 * n_per_class, 2))
    t = np.repeat(np.arange(2, dtype=np.int64), n_per_class)
    return x, t


def make_blobs(n_per_class=100, centers=3, std=1.0, rng=None):
    """Isotropic Gaussian clusters, one per class.

    Class ``k`` is ``centers[k] + std * N(0, I)``.

    Parameters
    ----------
    n_per_class : int
        Points per cluster, >= 1.
    centers : int or (K, D) array_like
        An int draws that many 2-d centres uniformly from [-5, 5]^2.
    std : float
        Standard deviation of every cluster, >= 0.
    rng : None, int or np.random.Generator

    Returns
    -------
    x : (K * n_per_class, D) float64
    t : (K * n_per_class,) int64
    """
    n_per_class = _check_count("n_per_class", n_per_class)
    std = _check_scale("std", std)
    rng = make_rng(rng)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        centers = rng.uniform(-5.0, 5.0, size=(_check_count("centers", centers), 2))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or len(centers) < 1:
            raise ValueError(
                f"centers must be an int >= 1 or a (K, D) array, got shape {centers.shape}")
    n_classes, dim = centers.shape
    x = np.repeat(centers, n_per_class, axis=0) + std * rng.standard_normal(
        (n_classes * n_per_class, dim))
    t = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    return x, t
