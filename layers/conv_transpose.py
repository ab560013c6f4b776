"""The transposed 2-D convolution (PyTorch's ``nn.ConvTranspose2d``): a convolution's backward pass run forward."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_weight_and_bias, is_size
from .conv_chunks import filters_as_columns
from .im2col import col2im, im2col
from .init import gaussian_, init_scale
from .rng import make_rng


class ConvTranspose2d(Layer):
    """Transposed 2-D convolution, as PyTorch's ``nn.ConvTranspose2d`` (no groups, no dilation).

    ``y[n, o, i*s - p + u, j*s - p + v] += x[n, c, i, j] * W[c, o, u, v]`` summed over every
    input pixel ``(i, j)``, channel ``c`` and kernel offset ``(u, v)``, plus ``b[o]``; what
    lands outside ``0 <= row < OH``, ``0 <= col < OW`` is dropped. Each input pixel paints
    a scaled copy of its kernel onto the output, ``s`` pixels from its neighbour's, so
    this is the gradient with respect to the input of a convolution with filters
    ``W`` (its ``FN = in_channels``, ``C = out_channels``), stride ``s`` and padding ``p``:

    - forward: ``y = col2im(x_rows @ W_col) + b``, with ``x_rows`` : (N*H*W, C_in) the
      pixels as rows and ``W_col`` : (C_in, kH*kW*C_out) the filters in im2col's window
      order (see :mod:`bprop.layers.im2col`);
    - backward: ``dx_rows = im2col(dout) @ W_col.T`` (``dx`` is that convolution of
      ``dout``), ``dW = x_rows.T @ im2col(dout)``, ``db = sum(dout)``.

    ``output_padding`` adds rows at the bottom and columns at the right (the sizes that
    a stride-``s`` convolution maps onto the same ``H``); it must be smaller than the
    stride, as PyTorch requires. ``stride``, ``padding`` and ``output_padding`` are one
    int for both axes (PyTorch also takes pairs).

    Built from arrays, ``ConvTranspose2d(W, b, stride=1, padding=0, output_padding=0)``,
    or from sizes, as in PyTorch, ``ConvTranspose2d(in_channels, out_channels,
    kernel_size, stride=1, padding=0, output_padding=0, init='he', rng=None,
    dtype=np.float64)`` with ``kernel_size`` an int or ``(kH, kW)``: ``W ~ N(0, s**2)``
    with ``s`` from ``init`` and the fan-in ``in_channels*kH*kW`` (the number of terms an
    output sums at stride 1; PyTorch's own fan-in is ``out_channels*kH*kW``), b = 0.

    Parameters
    ----------
    W : (in_channels, out_channels, kH, kW) array, PyTorch's ``ConvTranspose2d.weight``;
        referenced, not copied. Or ``in_channels`` (an int).
    b : (out_channels,) array, same dtype as W. Or ``out_channels`` (an int).
    kernel_size : int >= 1 or (kH, kW), only when built from sizes.
    stride : int >= 1; padding : int >= 0; output_padding : int, ``0 <= output_padding < stride``.
    input_grad : bool, default True. Whether ``backward`` computes ``dx``; else it returns None.
    init, rng, dtype : the initial weights' scale, generator and dtype, from sizes.

    Shape
    -----
    x : (N, C_in, H, W);
    y : (N, C_out, OH, OW), ``OH = (H - 1)*stride - 2*padding + kH + output_padding``,
    ``OW = (W - 1)*stride - 2*padding + kW + output_padding`` (PyTorch's sizes), each >= 1;
    ``backward`` returns dx : (N, C_in, H, W).

    Attributes
    ----------
    dW : (in_channels, out_channels, kH, kW), db : (out_channels,) gradients set by ``backward``.
    """

    param_names = ("W", "b")
    decay_names = ("W",)

    def __init__(self, W, b, kernel_size=None, stride=1, padding=0, output_padding=0, input_grad=True, *,
                 init="he", rng=None, dtype=np.float64):
        """``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
        output_padding=0, input_grad=True, *, init='he', rng=None, dtype=np.float64)`` from
        sizes, or ``ConvTranspose2d(W, b, stride=1, padding=0, output_padding=0,
        input_grad=True)`` from arrays (give stride and paddings by name)."""
        if is_size(W) or is_size(b):
            W, b = self._draw(W, b, kernel_size, init, rng, dtype)
            kernel_size = None
        if kernel_size is not None:
            raise ValueError(f"ConvTranspose2d: from arrays the kernel size is W's shape, got "
                             f"kernel_size={kernel_size!r}; give stride= and padding= by name")
        self.W, self.b = check_weight_and_bias("ConvTranspose2d", W, b, "(in_channels, out_channels, kH, kW)",
                                               out_axis=1)
        self.stride = check_int("ConvTranspose2d", "stride", stride, 1)
        self.padding = check_int("ConvTranspose2d", "padding", padding, 0)
        self.output_padding = check_int("ConvTranspose2d", "output_padding", output_padding, 0)
        if self.output_padding >= self.stride:
            raise ValueError(f"ConvTranspose2d: output_padding must be smaller than stride, "
                             f"got output_padding={self.output_padding}, stride={self.stride}")
        self.input_grad = input_grad
        self.dW = self.db = None  # gradients, set by backward
        self._x_rows = self._x_shape = None  # kept by forward for backward

    @staticmethod
    def _draw(in_channels, out_channels, kernel_size, init, rng, dtype):
        """``(W, b)`` from sizes: W ~ N(0, s**2) with the fan-in ``in_channels*kH*kW``, b = 0."""
        c_in = check_int("ConvTranspose2d", "in_channels", in_channels)
        c_out = check_int("ConvTranspose2d", "out_channels", out_channels)
        kernel = (kernel_size, kernel_size) if is_size(kernel_size) else kernel_size
        if not isinstance(kernel, (tuple, list)) or len(kernel) != 2:
            raise ValueError(f"ConvTranspose2d: kernel_size must be an int or (kH, kW), got {kernel_size!r}")
        kh, kw = (check_int("ConvTranspose2d", "kernel_size", k) for k in kernel)
        init_scale(init, 1)  # checks the name or number
        dtype = check_dtype("ConvTranspose2d", dtype)
        W = np.empty((c_in, c_out, kh, kw), dtype=dtype)
        gaussian_(W, init, c_in * kh * kw, make_rng(rng))
        return W, np.zeros(c_out, dtype=dtype)

    def extra_repr(self):
        c_in, c_out, kh, kw = self.W.shape
        return (f"{c_in} -> {c_out}, kernel={kh}x{kw}, stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}")

    @property
    def fan_in(self):
        c_in, _, kh, kw = self.W.shape
        return c_in * kh * kw

    def reset_parameters(self, init, rng):
        gaussian_(self.W, init, self.fan_in, rng)
        self.b[...] = 0

    def _out_hw(self, c, h, w):
        """``(OH, OW)`` for an input of ``c`` channels and ``h x w`` pixels, or a ValueError."""
        c_in, _, kh, kw = self.W.shape
        if c != c_in:
            raise ValueError(f"{self!r}: input has {c} channels, W {self.W.shape} expects {c_in}")
        s, p, op = self.stride, self.padding, self.output_padding
        oh, ow = (h - 1) * s - 2 * p + kh + op, (w - 1) * s - 2 * p + kw + op
        if oh < 1 or ow < 1:
            raise ValueError(f"{self!r}: an input of {h}x{w} gives an output of {oh}x{ow}; "
                             f"padding={p} crops more than the output holds")
        return oh, ow

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self!r}: expects ({self.W.shape[0]}, H, W) per sample, "
                             f"got input shape {tuple(input_shape)}")
        return (self.W.shape[1],) + self._out_hw(*input_shape)

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[0] == 0:
            raise ValueError(f"{self!r}: input must be a non-empty 4-D batch (N, C, H, W), got shape {x.shape}")
        n, c, h, w = x.shape
        oh, ow = self._out_hw(c, h, w)
        _, c_out, kh, kw = self.W.shape
        x_rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)  # one row per input pixel
        self._x_rows, self._x_shape = x_rows, x.shape
        # y = col2im(x_rows W_col) + b: each pixel's kernel copy added onto the output grid
        y = col2im(x_rows @ self._w_col(), (n, c_out, oh, ow), kh, kw, self.stride, self.padding)
        return y + self.b[:, None, None]

    def _w_col(self):
        """``W_col`` : (C_in, kH*kW*C_out), each input channel's kernels in im2col's window order."""
        return filters_as_columns(self.W).T

    def backward(self, dout):
        x_rows = self._need_cache(self._x_rows)
        n, c, h, w = self._x_shape
        _, c_out, kh, kw = self.W.shape
        check_dout(self, dout, (n, c_out) + self._out_hw(c, h, w))
        dcol = im2col(dout, kh, kw, self.stride, self.padding)  # (N*H*W, kH*kW*C_out)
        # dW = x_rows^T im2col(dout), read back from the (kH, kW, C_out) order of a row
        self.dW = (x_rows.T @ dcol).reshape(c, kh, kw, c_out).transpose(0, 3, 1, 2).copy()
        self.db = dout.sum(axis=(0, 2, 3))
        if not self.input_grad:
            return None
        # dx = im2col(dout) W_col^T: the convolution of dout with the filters W
        return (dcol @ self._w_col().T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
