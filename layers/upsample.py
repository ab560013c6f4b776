"""Nearest-neighbour upsampling by integer factors (PyTorch's ``nn.Upsample(mode='nearest')``)."""

import numbers

import numpy as np

from .base import Layer, check_dout


class Upsample(Layer):
    """Every pixel repeated into a ``sh x sw`` block, as PyTorch's ``nn.Upsample(scale_factor, mode='nearest')``.

    ``y[n, c, i, j] = x[n, c, floor(i / sh), floor(j / sw)]``. Backward sums the gradient of
    each block onto the pixel it came from:
    ``dx[n, c, h, w] = sum_{a < sh, b < sw} dout[n, c, h*sh + a, w*sw + b]``.

    Only integer factors and ``mode='nearest'``: then every output pixel has exactly one
    source and PyTorch's rule ``floor(i * H / OH)`` is ``floor(i / sh)``. Interpolating
    modes ('bilinear', ...), fractional factors and PyTorch's ``size=`` are not
    implemented and raise a ValueError.

    Parameters
    ----------
    scale_factor : int >= 1 or (sh, sw), the factor along H and along W; an integral
        float such as ``2.0`` is taken as the int.
    mode : 'nearest', the only mode.

    Shape
    -----
    x : (N, C, H, W); y : (N, C, H*sh, W*sw); dx : (N, C, H, W).
    """

    MODES = ("nearest",)

    def __init__(self, scale_factor, mode="nearest"):
        pair = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
        if len(pair) != 2 or not all(_is_positive_integer(f) for f in pair):
            raise ValueError(f"Upsample: scale_factor must be an integer >= 1 or a pair of them (sh, sw), "
                             f"got {scale_factor!r}")
        if mode not in self.MODES:
            raise ValueError(f"Upsample: mode must be one of {self.MODES}, got {mode!r}")
        self.scale_factor = tuple(int(f) for f in pair)
        self.mode = mode
        self._x_shape = None  # kept by forward for backward

    def extra_repr(self):
        sh, sw = self.scale_factor
        return f"scale_factor={sh if sh == sw else self.scale_factor}, mode={self.mode!r}"

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self!r}: expects (C, H, W) per sample, got input shape {tuple(input_shape)}")
        c, h, w = input_shape
        sh, sw = self.scale_factor
        return c, h * sh, w * sw

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[0] == 0:
            raise ValueError(f"{self!r}: input must be a non-empty 4-D batch (N, C, H, W), got shape {x.shape}")
        _, _, h, w = x.shape
        sh, sw = self.scale_factor
        self._x_shape = x.shape
        rows = np.arange(h * sh) // sh  # output row i reads input row floor(i / sh)
        cols = np.arange(w * sw) // sw
        return x[:, :, rows[:, None], cols[None, :]]

    def backward(self, dout):
        n, c, h, w = self._need_cache(self._x_shape)
        sh, sw = self.scale_factor
        check_dout(self, dout, (n, c, h * sh, w * sw))
        # dx[h, w] = the sum of dout over the block (h*sh .. h*sh + sh-1, w*sw .. w*sw + sw-1)
        return dout.reshape(n, c, h, sh, w, sw).sum(axis=(3, 5))


def _is_positive_integer(value):
    """An int >= 1, or a float equal to one (PyTorch's ``scale_factor=2.0``); never a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return value >= 1 and float(value).is_integer()
