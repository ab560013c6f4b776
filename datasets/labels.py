"""Label encodings: class indices to one-hot rows."""

import numbers

import numpy as np


def one_hot(t, n_classes, dtype=np.float32):
    """One-hot encode integer class labels.

    ``T[i, t[i]] = 1``, every other entry 0.

    Parameters
    ----------
    t : (N,) integer array
        Class indices in ``0 .. n_classes - 1``.
    n_classes : int
    dtype : dtype
        Of the result.

    Returns
    -------
    T : (N, n_classes) dtype
    """
    t = np.asarray(t)
    if t.ndim != 1:
        raise ValueError(f"t must be a 1-d array of class indices, got shape {t.shape}")
    if t.dtype.kind not in "iu":
        raise ValueError(f"t must hold integer class indices, got dtype {t.dtype}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) \
            or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = t[(t < 0) | (t >= n_classes)][0]
        raise ValueError(f"label {bad} is outside 0..{n_classes - 1}")
    T = np.zeros((t.size, n_classes), dtype=dtype)
    T[np.arange(t.size), t] = 1
    return T
