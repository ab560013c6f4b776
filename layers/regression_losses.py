"""Regression losses: MeanSquaredError, L1Loss and HuberLoss, found by name in ``LOSSES``.

Each compares predictions ``x`` with targets ``t`` element by element and reduces by the
mean over every element (or the sum), as PyTorch's ``nn.MSELoss``, ``nn.L1Loss`` and
``nn.HuberLoss`` do; see :class:`bprop.layers.loss.ElementwiseLoss` for the shapes. A
network ending in one is evaluated on its loss alone (``default_metrics = ('loss',)``).

:class:`bprop.layers.IdentityWithLoss` is the textbook's ``0.5/N * sum (x - t)**2``;
:class:`MeanSquaredError` averages over every element without the half, as PyTorch.
"""

import numpy as np

from .checks import check_positive
from .loss import LOSSES, ElementwiseLoss

__all__ = ["MeanSquaredError", "L1Loss", "HuberLoss"]


@LOSSES.register("mse")
class MeanSquaredError(ElementwiseLoss):
    """Mean squared error, PyTorch's ``nn.MSELoss(reduction)``.

    ``L = 1/M * sum (x - t)**2`` over all M elements (``reduction='mean'``) or
    ``L = sum (x - t)**2`` (``'sum'``); ``dx = dout * 2 (x - t) / M`` (or without ``/ M``).

    ``reduction``: 'mean' (default) or 'sum'; shapes as :class:`~bprop.layers.loss.ElementwiseLoss`.
    """

    def elementwise(self, x, t):
        d = x - t
        return d * d

    def derivative(self, x, t):
        return 2.0 * (x - t)


@LOSSES.register("l1")
class L1Loss(ElementwiseLoss):
    """Mean absolute error, PyTorch's ``nn.L1Loss(reduction)``.

    ``L = 1/M * sum |x - t|`` over all M elements (or the sum);
    ``dx = dout * sign(x - t) / M``, with ``sign(0) = 0`` as PyTorch: where a prediction
    equals its target the gradient is 0.

    ``reduction``: 'mean' (default) or 'sum'; shapes as :class:`~bprop.layers.loss.ElementwiseLoss`.
    """

    def elementwise(self, x, t):
        return np.abs(x - t)

    def derivative(self, x, t):
        return np.sign(x - t)


@LOSSES.register("huber")
class HuberLoss(ElementwiseLoss):
    """Huber loss, PyTorch's ``nn.HuberLoss(reduction, delta)``: squared near the target,
    linear far from it, so outliers pull with a bounded force.

    With ``d = x - t``: ``l = d**2 / 2`` where ``|d| < delta``, else
    ``l = delta * (|d| - delta / 2)``; ``L`` the mean over all M elements (or the sum).
    ``dx = dout * clip(d, -delta, delta) / M`` (or without ``/ M``): ``d`` inside the
    band, ``+-delta`` outside, continuous at ``|d| = delta``.

    Parameters
    ----------
    delta : finite float > 0, 1.0 by default, where the loss turns from squared to linear.
    reduction : 'mean' (default) or 'sum'.

    Shapes as :class:`~bprop.layers.loss.ElementwiseLoss`.
    """

    def __init__(self, delta=1.0, reduction="mean"):
        super().__init__(reduction)
        self.delta = check_positive("HuberLoss", "delta", delta)

    def elementwise(self, x, t):
        a = np.abs(x - t)
        return np.where(a < self.delta, 0.5 * a * a, self.delta * (a - 0.5 * self.delta))

    def derivative(self, x, t):
        return np.clip(x - t, -self.delta, self.delta)

    def extra_repr(self):
        return ", ".join([f"delta={self.delta}"] + ([f"reduction={self.reduction!r}"] if self.reduction != "mean" else []))
