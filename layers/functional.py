"""Numerically stable activation and loss functions, shared by the layers.

Every function here accepts any floating dtype and returns that dtype: a float32
input stays float32. None of them overflows or takes the log of zero.
"""

import numpy as np


def step_function(x):
    """Heaviside step, ``y = 1 if x > 0 else 0``, in the dtype of ``x`` (int for int input)."""
    x = np.asarray(x)
    return (x > 0).astype(x.dtype if x.dtype.kind == "f" else np.int64)


def sigmoid(x):
    """Logistic function ``y = 1 / (1 + exp(-x))``, exact and silent for any finite x.

    Uses ``e = exp(-|x|)``, which lies in (0, 1]: for x >= 0, ``y = 1 / (1 + e)``,
    otherwise ``y = e / (1 + e)``. No branch can overflow, and small outputs keep
    their full relative precision (sigmoid(-700) is about 1e-304, not 0).
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    y = np.where(x >= 0, 1.0, e).astype(x.dtype, copy=False)
    e += 1.0
    y /= e
    return y


def sigmoid_into(a, out):
    """:func:`sigmoid` written into ``out``, as the recurrent cells' gates use it:
    ``out = 1 / (1 + exp(-a))``, computed as ``0.5 * tanh(a / 2) + 0.5``.

    The identity is exact; tanh cannot overflow, needs no branch and no temporary, and
    is one transcendental function per element where the textbook form needs an exp
    and a division. ``out`` may be ``a`` itself. Returns ``out``.
    """
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_grad(x):
    """Derivative of :func:`sigmoid`, ``s * (1 - s)`` with ``s = sigmoid(x)``."""
    s = sigmoid(x)
    return s * (1.0 - s)


def relu(x):
    """Rectified linear unit ``y = max(x, 0)``."""
    return np.maximum(x, 0)


def relu_grad(x):
    """Derivative of :func:`relu`: 1 where x > 0, else 0 (0 at x = 0 by convention)."""
    x = np.asarray(x)
    return (x > 0).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(x)


def tanh_grad(x):
    """Derivative of :func:`tanh`, ``1 - tanh(x)**2``."""
    y = np.tanh(x)
    return 1.0 - y * y


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed as ``z - log(sum(exp(z)))`` with ``z = x - max(x)``.

    Every ``z`` is <= 0 and the sum is >= 1, so nothing overflows and the log is
    always of a number >= 1: logits of +-1000 give exact, finite results.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """Softmax along ``axis`` (rows of a batch by default), max-subtracted against overflow.

    Shape: ``x : (..., C)`` -> ``y : (..., C)``, each slice along ``axis`` sums to 1.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


#: how far from 1 a row of float targets may sum (rounding in computed probability rows)
ROW_SUM_TOL = 1e-3


def check_targets(who, t, n, c):
    """Validate class targets for a batch of ``n`` samples and ``c`` classes.

    Returns ``(t, is_index)``: integer labels ``(n,)`` in ``[0, c)`` (``is_index`` True)
    or an array ``(n, c)`` of one-hot or probability rows (``is_index`` False): every
    value in [0, 1], every row summing to 1 within ``ROW_SUM_TOL``. Anything else
    raises a ValueError that starts with ``who``; a bad row is named by its index.
    """
    t = np.asarray(t)
    if t.ndim == 1:
        if t.dtype.kind not in "iu":
            raise ValueError(
                f"{who}: integer class labels expected, got dtype {t.dtype}"
                + (f" with values such as {t[:3].tolist()}" if t.size else "")
            )
        if t.shape[0] != n:
            raise ValueError(f"{who}: {t.shape[0]} labels for a batch of {n} samples")
        if n:
            lo, hi = t.min(), t.max()
            if lo < 0 or hi >= c:
                bad = lo if lo < 0 else hi
                raise ValueError(f"{who}: label {bad} is outside [0, {c}) for {c} classes")
        return t, True
    if t.ndim == 2:
        if t.shape[0] != n:
            raise ValueError(f"{who}: {t.shape[0]} target rows for a batch of {n} samples")
        if t.shape[1] != c:
            raise ValueError(
                f"{who}: one-hot targets have width {t.shape[1]}, expected {c} (one column per class)"
            )
        if t.dtype.kind not in "fiub":
            raise ValueError(f"{who}: one-hot targets must be numeric, got dtype {t.dtype}")
        _check_rows(who, t)
        return t, False
    raise ValueError(
        f"{who}: targets must be labels (N,) or one-hot (N, C), got shape {t.shape}"
    )


def _check_rows(who, t):
    """Refuse a row of ``t`` (N, C) that is not a probability distribution, naming the first."""
    if t.size == 0:
        return
    sums = t.sum(axis=1, dtype=np.float64)
    # NaN fails every comparison, so it cannot slip through either test.
    if t.min() >= 0 and t.max() <= 1 and np.all(np.abs(sums - 1.0) <= ROW_SUM_TOL):
        return
    outside = ~((t >= 0) & (t <= 1)).all(axis=1)
    i = int(np.flatnonzero(outside | ~(np.abs(sums - 1.0) <= ROW_SUM_TOL))[0])
    row = t[i]
    if outside[i]:
        value = row[np.flatnonzero(~((row >= 0) & (row <= 1)))[0]]
        why = f"it holds {value:g}, outside [0, 1]"
    else:
        why = f"it sums to {sums[i]:.7g}, not 1"
    shown = ", ".join(f"{v:g}" for v in row[:10].tolist()) + (", ..." if len(row) > 10 else "")
    raise ValueError(
        f"{who}: target row {i} is neither one-hot nor a probability row (values in [0, 1] "
        f"summing to 1): {why}; row {i} is [{shown}]"
    )


def softmax_cross_entropy(x, t):
    """Mean cross-entropy of softmax(x) against targets, from the logits, and the softmax.

    Parameters
    ----------
    x : (N, C) array of logits.
    t : (N,) integer labels or (N, C) one-hot / probability rows.

    Returns
    -------
    loss : float, ``-1/N * sum_n sum_c t_nc * log softmax(x)_nc``.
    y : (N, C) softmax of ``x`` (what the gradient ``(y - t) / N`` needs).
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"softmax_cross_entropy: logits must be (N, C) with N >= 1, got shape {x.shape}")
    t, is_index = check_targets("softmax_cross_entropy", t, *x.shape)
    return softmax_cross_entropy_checked(x, t, is_index)


def softmax_cross_entropy_checked(x, t, is_index):
    """:func:`softmax_cross_entropy` for targets that :func:`check_targets` already accepted."""
    n = x.shape[0]
    z = x - x.max(axis=1, keepdims=True)
    y = np.exp(z)
    s = y.sum(axis=1, keepdims=True)
    y /= s
    # log softmax = z - log(s); s >= 1, so the log is finite and the loss too.
    log_s = np.log(s)
    if is_index:
        picked = float(z[np.arange(n), t].sum(dtype=np.float64))
        loss = (float(log_s.sum(dtype=np.float64)) - picked) / n
    else:
        z -= log_s
        loss = -float(np.einsum("ij,ij->", t, z, dtype=np.float64)) / n
    return loss, y


def cross_entropy_error(y, t):
    """Mean cross-entropy of predicted probabilities ``y`` against targets ``t``.

    Parameters
    ----------
    y : (N, C) or (C,) probabilities (rows of a softmax).
    t : (N,) / scalar labels or (N, C) / (C,) one-hot rows.

    Returns ``-1/N * sum log y[n, t_n]``. A probability that underflowed to exactly 0
    is read as the smallest positive normal number of its dtype, so the result is
    large but finite; from logits, :func:`softmax_cross_entropy` is exact instead.
    """
    y = np.asarray(y)
    if y.dtype.kind != "f":
        y = y.astype(np.float64)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y[None, :]
        t = t.reshape(1, -1) if t.ndim == 1 and t.size == y.shape[1] and t.size > 1 else t.reshape(1)
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"cross_entropy_error: y must be (N, C) with N >= 1, got shape {y.shape}")
    n, c = y.shape
    t, is_index = check_targets("cross_entropy_error", t, n, c)
    logy = np.log(np.maximum(y, np.finfo(y.dtype).tiny))
    if is_index:
        return -float(logy[np.arange(n), t].sum(dtype=np.float64)) / n
    return -float(np.einsum("ij,ij->", t, logy, dtype=np.float64)) / n


def mean_squared_error(y, t):
    """Half the squared error per sample, averaged over the batch: ``0.5/N * sum (y - t)**2``.

    ``y`` and ``t`` share a shape; a 1-D pair counts as one sample.
    """
    y = np.asarray(y)
    t = np.asarray(t)
    if y.shape != t.shape:
        raise ValueError(f"mean_squared_error: y has shape {y.shape} but t has shape {t.shape}")
    n = y.shape[0] if y.ndim > 1 else 1
    if y.size == 0:
        raise ValueError("mean_squared_error: empty batch")
    d = y - t
    return 0.5 * float(np.vdot(d, d)) / n
