"""Sigmoid and binary cross-entropy fused on logits, found by name in ``LOSSES`` as ``'sigmoid_bce'``."""

import numpy as np

from .functional import sigmoid
from .smooth_functions import sigmoid_binary_cross_entropy
from .loss import LOSSES, ElementwiseLoss

__all__ = ["SigmoidWithLoss"]


@LOSSES.register("sigmoid_bce")
class SigmoidWithLoss(ElementwiseLoss):
    """Binary cross-entropy of ``sigmoid(x)`` against ``t``, from the logits ``x``; PyTorch's
    ``nn.BCEWithLogitsLoss(reduction)``. For independent yes/no outputs (one or several
    labels per sample), where :class:`SoftmaxWithLoss` is for one class out of C.

    Element by element, ``l = -t log s - (1 - t) log(1 - s)`` with ``s = sigmoid(x)``,
    computed as ``max(x, 0) - x t + log1p(exp(-|x|))``, finite for any finite logit (no
    ``log(0)``, no overflowing ``exp``); ``L`` is the mean of ``l`` over every element
    (``reduction='mean'``) or the sum. ``dx = dout * (sigmoid(x) - t) / M`` (or without
    ``/ M``), M the number of elements.

    A network ending in it is evaluated on its loss and the fraction of outputs on the
    right side of 0.5 (``default_metrics = ('loss', 'binary_accuracy')``).

    Parameters
    ----------
    reduction : 'mean' (default) or 'sum'.

    Shape
    -----
    x : (N, ...) logits; t : the shape of x (or (N,) when x is (N, 1)), labels 0/1 or
    probabilities in [0, 1], any numeric dtype (bool too), cast to that of x;
    dx : the shape and dtype of x.
    """

    default_metrics = ("loss", "binary_accuracy")

    def check_target_values(self, t):
        # NaN fails both comparisons, so it is refused too.
        if not (t.min() >= 0 and t.max() <= 1):
            bad = t.ravel()[np.flatnonzero(~((t >= 0) & (t <= 1)).ravel())[0]]
            raise ValueError(f"SigmoidWithLoss: targets must be labels 0/1 or probabilities in [0, 1], "
                             f"got {bad:g}")

    def elementwise(self, x, t):
        return sigmoid_binary_cross_entropy(x, t)

    def derivative(self, x, t):
        return sigmoid(x) - t
