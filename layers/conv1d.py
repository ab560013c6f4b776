"""The 1-D convolution layer (PyTorch's ``nn.Conv1d``), as im2col of a height-1 image and a GEMM."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_weight_and_bias, is_size
from .conv_chunks import filters_as_columns
from .im2col import col2im, im2col, output_size
from .init import gaussian_, init_scale
from .rng import make_rng


class Conv1d(Layer):
    """1-D convolution (cross-correlation) over the last axis, as PyTorch's ``nn.Conv1d``.

    ``y[n, f, i] = b[f] + sum_{c, q} W[f, c, q] * xp[n, c, i*s + q]``, where ``xp`` is
    ``x`` zero-padded by ``padding`` at both ends of L and ``s`` the stride.

    A sequence is an image of height 1, so the layer reuses the 2-D unrolling:
    ``col = im2col(xp)`` holds one window of ``k`` positions (all channels) per row,
    ``y = col @ W_col.T + b``; backward ``dW = dout.T @ col``, ``db = sum(dout)`` and
    ``dx = col2im(dout @ W_col)`` with the padding cut away. ``W_col`` is the filters
    flattened in im2col's window order (see :mod:`bprop.layers.im2col`).

    Built from arrays, ``Conv1d(W, b, stride=1, padding=0)``, or from sizes, as in PyTorch,
    ``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, init='he',
    rng=None, dtype=np.float64)``: ``W ~ N(0, s**2)`` with ``s`` from ``init`` and the
    fan-in ``C*k`` (see :func:`bprop.layers.init.init_scale`), b = 0. PyTorch starts
    from a uniform draw instead; weights copied from a PyTorch model give its outputs.

    Parameters
    ----------
    W : (out_channels, in_channels, kernel_size) array, the filters, PyTorch's
        ``Conv1d.weight``; referenced, not copied. Or ``in_channels`` C (an int).
    b : (out_channels,) array, same dtype as W. Or ``out_channels`` F (an int).
    kernel_size : int >= 1, only when built from sizes (from arrays it is W's last axis).
    stride : int >= 1, step between neighbouring windows.
    padding : int >= 0, zeros added at both ends of L.
    input_grad : bool, default True. Whether ``backward`` computes ``dx`` (a network
        turns it off on its first layer, whose input is data); else it returns None.
    init, rng, dtype : the initial weights' scale ('he', 'xavier', an activation's
        name or a positive std), generator and dtype (float64 or float32), from sizes.

    Shape
    -----
    x : (N, C, L) with ``k <= L + 2*padding``;
    y : (N, F, OL), ``OL = (L + 2*padding - k) // stride + 1`` (PyTorch's length; positions
    no window covers get a zero gradient); ``backward`` returns dx : (N, C, L).

    Attributes
    ----------
    dW : (F, C, k), db : (F,) gradients set by ``backward``.
    """

    param_names = ("W", "b")
    decay_names = ("W",)

    def __init__(self, W, b, kernel_size=None, stride=1, padding=0, input_grad=True, *,
                 init="he", rng=None, dtype=np.float64):
        """``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, input_grad=True,
        *, init='he', rng=None, dtype=np.float64)`` from sizes, or ``Conv1d(W, b, stride=1,
        padding=0, input_grad=True)`` from arrays (give stride and padding by name)."""
        if is_size(W) or is_size(b):
            c = check_int("Conv1d", "in_channels", W)
            f = check_int("Conv1d", "out_channels", b)
            k = check_int("Conv1d", "kernel_size", kernel_size)
            init_scale(init, 1)  # checks the name or number
            dtype = check_dtype("Conv1d", dtype)
            W, b = np.empty((f, c, k), dtype=dtype), np.zeros(f, dtype=dtype)
            gaussian_(W, init, c * k, make_rng(rng))
        self.W, self.b = check_weight_and_bias("Conv1d", W, b, "(out_channels, in_channels, kernel_size)",
                                               out_axis=0)
        if kernel_size is not None and kernel_size != self.W.shape[2]:
            raise ValueError(f"Conv1d: from arrays the kernel size is W's last axis ({self.W.shape[2]}), "
                             f"got kernel_size={kernel_size!r}; give stride= and padding= by name")
        self.stride = check_int("Conv1d", "stride", stride, 1)
        self.padding = check_int("Conv1d", "padding", padding, 0)
        self.input_grad = input_grad
        self.dW = self.db = None  # gradients, set by backward
        self._col = self._x_shape = None  # kept by forward for backward

    def extra_repr(self):
        f, c, k = self.W.shape
        return f"{c} -> {f}, kernel={k}, stride={self.stride}, padding={self.padding}"

    @property
    def fan_in(self):
        return self.W.shape[1] * self.W.shape[2]

    def reset_parameters(self, init, rng):
        gaussian_(self.W, init, self.fan_in, rng)
        self.b[...] = 0

    def _length(self, c, length):
        """OL for an input of ``c`` channels and length ``length``, or a ValueError."""
        f, c_w, k = self.W.shape
        if c != c_w:
            raise ValueError(f"{self!r}: input has {c} channels, W {self.W.shape} expects {c_w}")
        if k > length + 2 * self.padding:
            raise ValueError(f"{self!r}: kernel {k} is longer than the padded input "
                             f"{length + 2 * self.padding} (L={length}, padding={self.padding})")
        return output_size(length, k, self.stride, self.padding)

    def output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self!r}: expects ({self.W.shape[1]}, L) per sample, "
                             f"got input shape {tuple(input_shape)}")
        return (self.W.shape[0], self._length(*input_shape))

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[0] == 0:
            raise ValueError(f"{self!r}: input must be a non-empty 3-D batch (N, C, L), got shape {x.shape}")
        n, c, length = x.shape
        ol = self._length(c, length)
        p, k = self.padding, self.W.shape[2]
        xp = np.pad(x, ((0, 0), (0, 0), (p, p)))  # zero-padded along L
        # an (N, C, 1, L + 2p) image, windows 1 x k: one row of col per output position
        col = im2col(xp[:, :, None, :], 1, k, self.stride)  # (N*OL, k*C)
        self._col, self._x_shape = col, x.shape
        y = col @ self._w_col_t() + self.b  # y = col W_col^T + b, (N*OL, F)
        return y.reshape(n, ol, -1).transpose(0, 2, 1)

    def _w_col_t(self):
        """``W_col.T`` : (k*C, F), the filters' rows in im2col's window order (k, C)."""
        return filters_as_columns(self.W[:, :, None, :])

    def backward(self, dout):
        col = self._need_cache(self._col)
        n, c, length = self._x_shape
        f, _, k = self.W.shape
        ol = col.shape[0] // n
        check_dout(self, dout, (n, f, ol))
        d = dout.transpose(0, 2, 1).reshape(n * ol, f)  # one row per output position
        w_col_t = self._w_col_t()
        # dW = dout^T col, read back from the (k, C) order of a row into (F, C, k)
        self.dW = (d.T @ col).reshape(f, k, c).transpose(0, 2, 1).copy()
        self.db = d.sum(axis=0)  # db = the sum of dout over the batch and positions
        if not self.input_grad:
            return None
        p = self.padding
        # dx = col2im(dout W_col), then the padding cut away
        dxp = col2im(d @ w_col_t.T, (n, c, 1, length + 2 * p), 1, k, self.stride)
        return np.ascontiguousarray(dxp[:, :, 0, p:p + length])
