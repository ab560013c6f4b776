"""Adaptive average pooling (PyTorch's ``nn.AdaptiveAvgPool2d``) and global average pooling to (N, C)."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_int


def adaptive_bins(size, out):
    """PyTorch's adaptive bins along one axis: ``(start, end)`` arrays of length ``out``,
    ``start[i] = floor(i*size/out)``, ``end[i] = ceil((i+1)*size/out)``.

    The bins cover ``range(size)``, each at least one element long; neighbours overlap by
    one element when ``out`` does not divide ``size``, and repeat when ``out > size``.
    """
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def averaging_matrix(size, out, dtype):
    """``A`` : (out, size) with ``A[i, h] = 1 / (end[i] - start[i])`` inside bin ``i``, else 0,
    so that ``A @ v`` is the mean of every bin of ``v`` (see :func:`adaptive_bins`)."""
    start, end = adaptive_bins(size, out)
    h = np.arange(size)
    inside = (start[:, None] <= h) & (h < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Layer):
    """Average over adaptive bins of H and W, as PyTorch's ``nn.AdaptiveAvgPool2d``.

    ``y[n, c, i, j] = mean(x[n, c, h0(i):h1(i), w0(j):w1(j)])`` with PyTorch's bins
    ``h0(i) = floor(i*H/OH)``, ``h1(i) = ceil((i+1)*H/OH)`` (and the same along W), so the
    output is ``(OH, OW)`` for any input size. ``output_size=1`` averages each channel over
    all of H and W (global average pooling, giving (N, C, 1, 1)).

    A bin's mean is a row of an averaging matrix (:func:`averaging_matrix`): with ``A_h``
    : (OH, H) and ``A_w`` : (OW, W), ``y = A_h x A_w^T`` for every (n, c), and backward is
    ``dx = A_h^T dout A_w``.

    Parameters
    ----------
    output_size : int >= 1, or (OH, OW) whose entries are ints >= 1 or None (None keeps
        that axis's input size, as in PyTorch).

    Shape
    -----
    x : (N, C, H, W); y : (N, C, OH, OW); dx : (N, C, H, W).
    """

    def __init__(self, output_size=1):
        if not isinstance(output_size, (tuple, list)):
            output_size = (check_int(self.name, "output_size", output_size),) * 2
        elif len(output_size) != 2:
            raise ValueError(f"{self.name}: output_size must be an int or (OH, OW), got {output_size!r}")
        self.output_size = tuple(check_int(self.name, "output_size", v, allow_none=True) for v in output_size)
        self._mats = self._x_shape = None  # kept by forward for backward

    def extra_repr(self):
        oh, ow = self.output_size
        return f"output_size={oh if oh == ow else self.output_size}"

    def _out_hw(self, h, w):
        oh, ow = self.output_size
        return (h if oh is None else oh), (w if ow is None else ow)

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self!r}: expects (C, H, W) per sample, got input shape {tuple(input_shape)}")
        return (input_shape[0],) + self._out_hw(*input_shape[1:])

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[0] == 0:
            raise ValueError(f"{self!r}: input must be a non-empty 4-D batch (N, C, H, W), got shape {x.shape}")
        h, w = x.shape[2:]
        oh, ow = self._out_hw(h, w)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64  # the mean of integers is a float
        a_h, a_w = averaging_matrix(h, oh, dtype), averaging_matrix(w, ow, dtype)
        self._mats, self._x_shape = (a_h, a_w), x.shape
        return a_h @ (x @ a_w.T)  # y = A_h x A_w^T, (N, C, OH, OW)

    def backward(self, dout):
        a_h, a_w = self._need_cache(self._mats)
        n, c = self._x_shape[:2]
        check_dout(self, dout, (n, c, a_h.shape[0], a_w.shape[0]))
        return a_h.T @ (dout @ a_w)  # dx = A_h^T dout A_w


class GlobalAvgPool(AdaptiveAvgPool2d):
    """The mean of each channel over H and W, as (N, C): ``y[n, c] = mean_{h, w} x[n, c, h, w]``.

    ``AdaptiveAvgPool2d(1)`` followed by a flatten, in one layer, so that an ``Affine``
    can follow a stack of convolutions directly (``torch.mean(x, dim=(2, 3))``, or
    ``nn.AdaptiveAvgPool2d(1)`` then ``nn.Flatten()`` in PyTorch). Backward spreads
    ``dout[n, c] / (H*W)`` over every pixel of the channel.

    Shape
    -----
    x : (N, C, H, W); y : (N, C); dx : (N, C, H, W).
    """

    default_name = "GlobalAvgPool"

    def __init__(self):
        super().__init__(1)

    def extra_repr(self):
        return ""

    def output_shape(self, input_shape):
        return super().output_shape(input_shape)[:1]

    def forward(self, x, train=True):
        return super().forward(x, train)[:, :, 0, 0]

    def backward(self, dout):
        n, c = self._need_cache(self._x_shape)[:2]
        check_dout(self, dout, (n, c))
        return super().backward(dout[:, :, None, None])
