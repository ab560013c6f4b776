"""Output layers that end a network in a scalar loss: SoftmaxWithLoss and IdentityWithLoss,
found by name in ``LOSSES``, and :class:`ElementwiseLoss`, the base of the losses that
compare predictions and targets element by element (regression losses, sigmoid BCE).

Each is entered in ``LOSSES`` on the line above its class, so a new loss is one class
plus its test. A loss layer built by name takes no arguments: every argument has a default.
"""

import numbers

import numpy as np

from .base import Layer
from .functional import check_targets, softmax_cross_entropy_checked
from .registry import Registry

#: loss layers by name (``'softmax'`` -> :class:`SoftmaxWithLoss`), each entered beside its
#: class; what ``Sequential(..., loss=...)`` chooses from when given a name
LOSSES = Registry("loss", fold_case=True, hint="or pass a loss layer")

#: how a loss layer reduces the loss of every prediction to one number
REDUCTIONS = ("mean", "sum")


def check_reduction(owner, reduction):
    """``reduction`` if it is one of :data:`REDUCTIONS`, else a ValueError naming ``owner``."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
    return reduction


def _float_dtype(x):
    """The dtype a loss computes in: the scores' own if floating, else float64."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


@LOSSES.register("softmax")
class SoftmaxWithLoss(Layer):
    """Softmax followed by cross-entropy, fused so both stay exact; PyTorch's
    ``nn.CrossEntropyLoss(label_smoothing=..., reduction=...)`` on logits.

    ``forward(x, t)`` returns ``L = -1/N * sum_n sum_c q_nc log softmax(x)_nc``, computed
    through log-softmax, so logits of +-1000 still give a finite loss; ``q`` is the
    target row, ``onehot(t)`` for labels, smoothed to ``q = (1 - eps) q + eps / C`` when
    ``label_smoothing = eps > 0``. ``backward(dout=1)`` returns
    ``dx = dout * (softmax(x) - q) / N``. With ``reduction='sum'`` both drop the ``1/N``.

    Parameters
    ----------
    label_smoothing : float in [0, 1], 0.0 by default (plain cross-entropy).
    reduction : 'mean' (default, over the N samples) or 'sum'.

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

    def __init__(self, label_smoothing=0.0, reduction="mean"):
        if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real)
                or not 0.0 <= label_smoothing <= 1.0):
            raise ValueError(f"SoftmaxWithLoss: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.reduction = check_reduction("SoftmaxWithLoss", reduction)
        self.y = None
        self.t = None
        self.loss = None
        self._is_index = None

    def forward(self, x, t, train=True):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"SoftmaxWithLoss: scores must be a non-empty batch (N, C), got shape {x.shape}")
        t, self._is_index = check_targets("SoftmaxWithLoss", t, *x.shape)
        if self.label_smoothing:
            t = self._smoothed(t, x.shape[1], _float_dtype(x))
            self._is_index = False
        elif not self._is_index:
            # Targets of another dtype would turn dx into theirs: a float32 network stays float32.
            t = t.astype(_float_dtype(x), copy=False)
        self.loss, self.y = softmax_cross_entropy_checked(x, t, self._is_index)
        if self.reduction == "sum":
            self.loss *= x.shape[0]
        self.t = t
        return self.loss

    def _smoothed(self, t, c, dtype):
        """The target rows ``(1 - eps) * onehot(t) + eps / C`` (or ``(1 - eps) * t + eps / C``)."""
        eps = self.label_smoothing
        if self._is_index:
            q = np.full((len(t), c), eps / c, dtype=dtype)
            q[np.arange(len(t)), t] += 1.0 - eps
            return q
        return (1.0 - eps) * t.astype(dtype, copy=False) + eps / c

    def backward(self, dout=1.0):
        y = self._need_cache(self.y)
        n = y.shape[0] if self.reduction == "mean" else 1
        if self._is_index:
            dx = y.copy()
            dx[np.arange(y.shape[0]), self.t] -= 1.0
        else:
            dx = y - self.t
        dx *= dout / n
        return dx

    def extra_repr(self):
        parts = [f"label_smoothing={self.label_smoothing}"] if self.label_smoothing else []
        return ", ".join(parts + ([f"reduction={self.reduction!r}"] if self.reduction != "mean" else []))


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


def check_predictions_and_targets(owner, x, t):
    """``(x, t)`` as arrays of one shape and one floating dtype (that of ``x``, float64 for
    integers), or a ValueError naming ``owner``: ``x`` is a non-empty batch ``(N, ...)``,
    ``t`` numeric of the same shape (a ``(N,)`` target is taken as ``(N, 1)`` for ``x`` of
    shape ``(N, 1)``)."""
    x = np.asarray(x)
    t = np.asarray(t)
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"{owner}: predictions must be a non-empty batch (N, ...), got shape {x.shape}")
    if x.shape[1:] == (1,) and t.shape == x.shape[:1]:
        t = t[:, None]
    if t.shape != x.shape:
        raise ValueError(f"{owner}: targets have shape {t.shape}, predictions {x.shape}")
    if t.dtype.kind not in "fiub":
        raise ValueError(f"{owner}: targets must be numeric, got dtype {t.dtype}")
    x = x.astype(_float_dtype(x), copy=False)
    return x, t.astype(x.dtype, copy=False)


class ElementwiseLoss(Layer):
    """Base of the losses that compare each prediction with its target:
    ``L = mean l(x, t)`` over every element (``reduction='mean'``) or ``L = sum l(x, t)``
    (``'sum'``), and ``dx = dout * l'(x, t) / size`` (or without ``/ size``), as PyTorch's
    element-wise losses reduce.

    A subclass defines :meth:`elementwise` (``l``) and :meth:`derivative` (``l'``, a new
    array), and may refuse target values in :meth:`check_target_values`.

    Shape
    -----
    x : (N, ...) predictions (or logits); t : the shape of x (or (N,) when x is (N, 1)),
    any numeric dtype, cast to that of x; dx : the shape and dtype of x.

    Attributes
    ----------
    x, t : the last forward's predictions and targets (what backward needs); loss : float.
    """

    #: the metrics a network with this loss is evaluated with by default
    default_metrics = ("loss",)

    def __init__(self, reduction="mean"):
        self.reduction = check_reduction(type(self).__name__, reduction)
        self.x = self.t = self.loss = None

    def elementwise(self, x, t):
        raise NotImplementedError

    def derivative(self, x, t):
        raise NotImplementedError

    def check_target_values(self, t):
        """Raise a ValueError naming the layer for targets it cannot compare against."""

    def forward(self, x, t, train=True):
        x, t = check_predictions_and_targets(self.name, x, t)
        self.check_target_values(t)
        total = float(np.sum(self.elementwise(x, t), dtype=np.float64))
        self.loss = total / x.size if self.reduction == "mean" else total
        self.x, self.t = x, t
        return self.loss

    def backward(self, dout=1.0):
        x = self._need_cache(self.x)
        dx = self.derivative(x, self.t)
        dx *= dout / (x.size if self.reduction == "mean" else 1)
        return dx

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"
