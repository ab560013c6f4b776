"""Output layers that end a network in a scalar loss: SoftmaxWithLoss and IdentityWithLoss,
found by name in ``LOSSES``.

Each is entered in ``LOSSES`` on the line above its class, so a new loss is one class
here plus its test. A loss layer built by name takes no arguments.
"""

import numpy as np

from .base import Layer
from .functional import check_targets, softmax_cross_entropy_checked
from .registry import Registry

#: loss layers by name (``'softmax'`` -> :class:`SoftmaxWithLoss`), each entered beside its
#: class; what ``Sequential(..., loss=...)`` chooses from when given a name
LOSSES = Registry("loss", fold_case=True, hint="or pass a loss layer")


def _float_dtype(x):
    """The dtype a loss computes in: the scores' own if floating, else float64."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


@LOSSES.register("softmax")
class SoftmaxWithLoss(Layer):
    """Softmax followed by mean cross-entropy, fused so both stay exact.

    ``forward(x, t)`` returns ``L = -1/N * sum_n log softmax(x)[n, t_n]``, computed
    through log-softmax, so logits of +-1000 still give a finite loss.
    ``backward(dout=1)`` returns ``dx = dout * (softmax(x) - onehot(t)) / N``.

    Shape
    -----
    x : (N, C) logits; t : (N,) integer labels in [0, C) or (N, C) one-hot (or
    probability) rows, values in [0, 1] summing to 1, of any dtype (cast to that of
    ``x``); dx : (N, C), in the dtype of ``x``.

    Attributes
    ----------
    y : (N, C) softmax of the last forward; loss : float, the last loss.
    """

    #: the metrics a network with this loss is evaluated with by default
    default_metrics = ("loss", "accuracy")

    def __init__(self):
        self.y = None
        self.t = None
        self.loss = None
        self._is_index = None

    def forward(self, x, t, train=True):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"SoftmaxWithLoss: scores must be a non-empty batch (N, C), got shape {x.shape}")
        t, self._is_index = check_targets("SoftmaxWithLoss", t, *x.shape)
        if not self._is_index:
            # Targets of another dtype would turn dx into theirs: a float32 network stays float32.
            t = t.astype(_float_dtype(x), copy=False)
        self.loss, self.y = softmax_cross_entropy_checked(x, t, self._is_index)
        self.t = t
        return self.loss

    def backward(self, dout=1.0):
        y = self._need_cache(self.y)
        n = y.shape[0]
        if self._is_index:
            dx = y.copy()
            dx[np.arange(n), self.t] -= 1.0
        else:
            dx = y - self.t
        dx *= dout / n
        return dx


@LOSSES.register("identity")
class IdentityWithLoss(Layer):
    """Identity output with the half squared error, for regression.

    ``forward(x, t)`` returns ``L = 0.5/N * sum (x - t)**2`` (the textbook's
    ``0.5 * sum`` per sample, averaged over the batch); ``backward(dout=1)`` returns
    ``dx = dout * (x - t) / N``.

    Shape: x : (N, K); t : same shape as x (a (N,) target is taken as (N, 1) when K == 1).

    Attributes: y : (N, K) the predictions (x itself); loss : float.
    """

    #: the metrics a network with this loss is evaluated with by default
    default_metrics = ("loss", "mse")

    def __init__(self):
        self.y = None
        self.t = None
        self.loss = None

    def forward(self, x, t, train=True):
        x = np.asarray(x)
        t = np.asarray(t)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"IdentityWithLoss: predictions must be a non-empty batch (N, K), got shape {x.shape}")
        if t.shape == (x.shape[0],) and x.shape[1] == 1:
            t = t[:, None]
        if t.shape != x.shape:
            raise ValueError(f"IdentityWithLoss: targets have shape {t.shape}, predictions {x.shape}")
        # Computed in the predictions' dtype, whatever the targets': float32 stays float32.
        x = x.astype(_float_dtype(x), copy=False)
        t = t.astype(x.dtype, copy=False)
        self.y = x
        self.t = t
        d = x - t
        self.loss = 0.5 * float(np.vdot(d, d)) / x.shape[0]
        return self.loss

    def backward(self, dout=1.0):
        y = self._need_cache(self.y)
        dx = y - self.t
        dx *= dout / y.shape[0]
        return dx
