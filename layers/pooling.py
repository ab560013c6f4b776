"""Max and average pooling over sliding windows of each channel."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_int
from .convolution import check_stride_pad, check_window, window_output
from .im2col import channels_last_zeros, to_channels_last, window_offsets


class Pooling(Layer):
    """2-D pooling: the maximum (or the mean) of each ``pool_h x pool_w`` window, per channel.

    ``y[n, c, i, j] = max_{p, q} xp[n, c, i*s + p, j*s + q]`` (``mode='max'``) or the
    mean of the same window (``mode='avg'``), where ``xp`` is ``x`` padded by ``pad``.

    Backward, max: each window's ``dout`` goes to the one element that was its
    maximum (on ties, the first in row-major order within the window), so
    ``dx`` is a sum of at most one term per window. Avg: ``dout / (pool_h*pool_w)``
    goes to every element of the window. Overlapping windows add up.

    Padding: max pooling pads with ``-inf``, so a padded pixel is never the maximum;
    average pooling pads with zeros and always divides by ``pool_h*pool_w`` (padded
    pixels count, PyTorch's ``count_include_pad=True``). ``pad`` must be smaller than
    both window sides so every window holds at least one real pixel.

    Vectorised as a loop over the ``pool_h*pool_w`` offsets inside a window, each step
    one array operation over every window at once (four steps for 2x2 pooling). Max
    pooling caches, per offset, a boolean mask of the pixels that were their window's
    first maximum. The output keeps the channels-last memory of a Convolution's output.

    Parameters
    ----------
    pool_h, pool_w : int >= 1, window size.
    stride : int >= 1, step between windows (2 with a 2x2 window halves H and W).
    pad : int >= 0 and < min(pool_h, pool_w).
    mode : 'max' or 'avg'.

    Shape
    -----
    x : (N, C, H, W) with ``pool_h <= H + 2*pad``, ``pool_w <= W + 2*pad``;
    y : (N, C, OH, OW), ``OH = (H + 2*pad - pool_h) // stride + 1`` as in PyTorch (rows
    and columns no window covers get a zero gradient); dx : (N, C, H, W).
    """

    default_name = "Pool"

    MODES = ("max", "avg")

    def __init__(self, pool_h, pool_w, stride=1, pad=0, mode="max"):
        self.pool_h = check_int("Pooling", "pool_h", pool_h)
        self.pool_w = check_int("Pooling", "pool_w", pool_w)
        self.stride, self.pad = check_stride_pad("Pooling", stride, pad)
        if self.pad >= min(self.pool_h, self.pool_w):
            raise ValueError(
                f"Pooling: pad={self.pad} must be smaller than the window {self.pool_h}x{self.pool_w}, "
                "or some windows would hold only padding"
            )
        if mode not in self.MODES:
            raise ValueError(f"Pooling: mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self._cache = None
        self._x_shape = None
        self._out_shape = None

    def extra_repr(self):
        return f"{self.mode}, kernel={self.pool_h}x{self.pool_w}, stride={self.stride}, pad={self.pad}"

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self!r}: expects (C, H, W) per sample, got input shape {tuple(input_shape)}")
        return (input_shape[0],) + window_output(repr(self), input_shape, self.pool_h, self.pool_w,
                                                 self.stride, self.pad)

    def forward(self, x, train=True):
        x = np.asarray(x)
        ph, pw, s, p = self.pool_h, self.pool_w, self.stride, self.pad
        oh, ow = check_window(repr(self), x, ph, pw, s, p)
        fill = -np.inf if self.mode == "max" else 0.0
        xp = to_channels_last(x, p, fill).transpose(0, 3, 1, 2)  # (N, C, H+2p, W+2p)
        self._x_shape = x.shape
        self._out_shape = x.shape[:2] + (oh, ow)
        # One pass per offset inside the window, each over every window at once.
        offsets = window_offsets(ph, pw, oh, ow, s)
        _, _, rows, cols = next(offsets)
        out = xp[:, :, rows, cols].copy(order="K")  # keeps the channels-last layout
        if self.mode == "avg":
            for _, _, rows, cols in offsets:
                out += xp[:, :, rows, cols]
            out /= ph * pw
            self._cache = False  # marks that forward ran; avg needs nothing else
            return out
        for _, _, rows, cols in offsets:
            np.maximum(out, xp[:, :, rows, cols], out=out)
        # Which pixel of each window backward sends the gradient to, as one boolean mask
        # per offset, found while xp is still in cache: a pixel equal to its window's
        # maximum that no earlier offset claimed (ties go to the first in row-major order).
        # Comparing with the output after the fact is fewer passes than tracking the
        # argmax during the maximum, and the masks let backward skip the comparisons.
        masks, taken = [], None
        for _, _, rows, cols in window_offsets(ph, pw, oh, ow, s):
            hit = xp[:, :, rows, cols] == out
            if taken is None:
                taken = hit.copy()
            else:
                hit = np.greater(hit, taken, out=hit)  # hit and not taken
                taken |= hit
            masks.append(hit)
        self._cache = masks
        return out

    def backward(self, dout):
        cache = self._need_cache(self._cache)
        check_dout(self, dout, self._out_shape)
        ph, pw, s, p = self.pool_h, self.pool_w, self.stride, self.pad
        n, c, h, w = self._x_shape
        oh, ow = self._out_shape[2:]
        dxp = channels_last_zeros(n, c, h + 2 * p, w + 2 * p, dout.dtype)
        if self.mode == "avg":
            share = dout / (ph * pw)
            for _, _, rows, cols in window_offsets(ph, pw, oh, ow, s):
                dxp[:, :, rows, cols] += share
            return dxp[:, :, p:p + h, p:p + w]
        # dout from an Affine arrives channels-first; the masks and dx are channels-last,
        # and one copy is cheaper than multiplies across the two layouts.
        dout_cl = dout.transpose(0, 2, 3, 1)
        if not dout_cl.flags.c_contiguous:
            dout = np.ascontiguousarray(dout_cl).transpose(0, 3, 1, 2)
        disjoint = s >= ph and s >= pw  # then each pixel is written at most once
        for (_, _, rows, cols), hit in zip(window_offsets(ph, pw, oh, ow, s), cache):
            target = dxp[:, :, rows, cols]
            if disjoint:
                np.multiply(dout, hit, out=target)
            else:
                target += dout * hit
        return dxp[:, :, p:p + h, p:p + w]
