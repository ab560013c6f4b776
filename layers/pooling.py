"""Max and average pooling over sliding windows of each channel."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_int
from .im2col import (batch_chunks, channels_last_zeros, check_stride_pad, check_window, to_channels_last,
                     window_offsets, window_output)
from .parallel import run_chunks


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
    one array operation over every window of a chunk of the batch (four steps for 2x2
    pooling; chunks of about 1 MiB stay in cache, and run on T threads when the BLAS is
    set to T, see :mod:`bprop.layers.parallel`). Max
    pooling caches the offset of each window's maximum as a small integer array; the
    output keeps the channels-last memory of a Convolution's output.

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
    splits_work = True

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
        self._cache = self._x_shape = self._out_shape = None  # kept by forward for backward

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
        n, c = x.shape[:2]
        self._x_shape = x.shape
        self._out_shape = (n, c, oh, ow)
        out = np.empty((n, oh, ow, c), dtype=x.dtype).transpose(0, 3, 1, 2)  # channels-last memory
        offsets = list(window_offsets(ph, pw, oh, ow, s))
        # arg[n, c, i, j]: index k (row-major, as window_offsets yields them) of the window's first maximum
        arg = None if self.mode == "avg" else \
            np.empty((n, oh, ow, c), dtype=np.min_scalar_type(ph * pw - 1)).transpose(0, 3, 1, 2)
        chunks = self.chunks(x)

        def forward_chunk(i):
            b = chunks[i]
            xb, o = xp[b], out[b]
            _, _, rows, cols = offsets[0]
            np.copyto(o, xb[:, :, rows, cols])
            if arg is None:
                for _, _, rows, cols in offsets[1:]:
                    o += xb[:, :, rows, cols]
                o /= ph * pw
                return
            a = arg[b]
            a[...] = 0
            for k, (_, _, rows, cols) in enumerate(offsets[1:], start=1):
                v = xb[:, :, rows, cols]
                bigger = v > o  # strict: on ties the earlier offset keeps the gradient
                np.maximum(o, v, out=o)
                # a = where(bigger, k, a) as arithmetic, several times faster than
                # np.where or np.putmask on these strided arrays
                a *= ~bigger
                a += bigger * a.dtype.type(k)

        run_chunks(forward_chunk, len(chunks))
        self._cache = (chunks, arg)
        return out

    def chunks(self, x):
        """Slices of the batch worked on at a time, each about ``CHUNK_BYTES`` of input:
        the several passes over a chunk (one per window offset) then read it from cache,
        and with T > 1 BLAS threads the chunks run on T threads (see ``layers.parallel``)."""
        return batch_chunks(x.shape[0], x[:1].nbytes)

    def backward(self, dout):
        chunks, arg = self._need_cache(self._cache)
        ph, pw, s, p = self.pool_h, self.pool_w, self.stride, self.pad
        n, c, h, w = self._x_shape
        oh, ow = self._out_shape[2:]
        dxp = channels_last_zeros(n, c, h + 2 * p, w + 2 * p, dout.dtype)
        # dout in channels-last memory, as dx and arg
        dout = check_dout(self, dout, self._out_shape, like=dxp[:, :, :oh, :ow])
        disjoint = s >= ph and s >= pw  # then each pixel is written at most once
        offsets = list(window_offsets(ph, pw, oh, ow, s))

        def backward_chunk(i):
            b = chunks[i]
            d, dxb = dout[b], dxp[b]
            if arg is None:
                d = d / (ph * pw)
            for k, (_, _, rows, cols) in enumerate(offsets):
                target = dxb[:, :, rows, cols]
                if arg is None:
                    target += d
                elif disjoint:
                    np.multiply(d, arg[b] == k, out=target)
                else:
                    target += d * (arg[b] == k)

        run_chunks(backward_chunk, len(chunks))
        return dxp[:, :, p:p + h, p:p + w]
