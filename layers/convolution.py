"""The 2-D convolution layer, computed by im2col and a matrix product, or by Winograd's
minimal filtering for 3x3 kernels, in chunks."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_weight_and_bias, is_size
from .conv_chunks import ChunkedCol
from .im2col import batch_chunks, check_stride_pad, check_window, window_output
from .init import init_, init_bias_, init_rule
from .rng import make_rng
from .winograd import ALGORITHMS, WinogradConv, can_use, resolve


#: an im2col matrix of the whole batch up to this size is built at once and kept for
#: backward (it stays in the last-level cache; unrolling it again would cost more)
KEEP_COL_BYTES = 6 << 20


class Convolution(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library).

    ``y[n, f, i, j] = b[f] + sum_{c, p, q} W[f, c, p, q] * xp[n, c, i*s + p, j*s + q]``,
    where ``xp`` is ``x`` zero-padded by ``pad`` on every side and ``s`` the stride.
    Computed as ``col = im2col(x)``, ``y = col @ W_col.T + b`` with ``W_col`` the filters
    flattened in im2col's window order; backward ``dW = dout.T @ col``, ``db = sum(dout)``
    and ``dx = col2im(dout @ W_col)``. :class:`bprop.layers.conv_chunks.ChunkedCol` runs
    both over chunks of the batch (see :data:`bprop.layers.im2col.CHUNK_BYTES`), on ``T``
    threads when the BLAS is set to ``T`` (:mod:`bprop.layers.parallel`), with the same
    bits for every ``T``; forward keeps the whole batch's ``col`` only when it is at most
    ``KEEP_COL_BYTES``. The output is a (N, FN, OH, OW) view of channels-last memory (see
    :mod:`bprop.layers.im2col`).

    A 3x3 convolution with stride 1, ``pad <= 2`` and at least three input channels is
    computed instead with Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray 2016):
    the same ``y``, ``dx``, ``dW`` and ``db`` up to rounding, with 2.25x fewer
    multiplications but transforms around them (see :mod:`bprop.layers.winograd`). That is
    ``algorithm='auto'``; ``'im2col'`` and ``'winograd'`` force one (``'winograd'`` on other
    kernels, strides or pads is a ValueError), :attr:`runs_on` says which one runs, and
    :func:`set_algorithm` sets it on every layer of a network.

    Built from arrays, as in the textbook, ``Convolution(W, b, stride=1, pad=0)``, or
    from sizes, as in PyTorch, ``Convolution(in_channels, out_channels, kernel_size,
    stride=1, pad=0, init='he', rng=None, dtype=np.float64)`` with ``kernel_size`` an
    int or ``(FH, FW)``: ``W`` drawn as ``init`` says with PyTorch's fan-in ``C*FH*FW`` and
    fan-out ``FN*FH*FW`` (``'he'``: ``N(0, 2 / (C*FH*FW))``), ``b = 0`` unless ``init``
    draws biases too (``'torch_default'``, PyTorch's ``nn.Conv2d``); see :mod:`bprop.layers.init`.

    Parameters
    ----------
    W : (FN, C, FH, FW) array, the filters; referenced, not copied, so an optimizer
        that updates it in place updates the layer.
    b : (FN,) array, one bias per filter, same dtype as W.
    stride : int >= 1, step between neighbouring windows.
    pad : int >= 0, zeros added around H and W.
    input_grad : bool, default True
        Whether ``backward`` computes ``dx``. A network turns it off on its first
        layer, whose input is data, to skip a GEMM and the col2im; ``backward`` then
        returns None.
    algorithm : 'auto' (default), 'im2col' or 'winograd', keyword only; see above.

    Shape
    -----
    x : (N, C, H, W) with ``FH <= H + 2*pad`` and ``FW <= W + 2*pad``;
    y : (N, FN, OH, OW), ``OH = (H + 2*pad - FH) // stride + 1``,
    ``OW = (W + 2*pad - FW) // stride + 1``; ``backward`` returns dx : (N, C, H, W).

    Attributes
    ----------
    dW : (FN, C, FH, FW), db : (FN,) gradients set by ``backward``.
    """

    param_names = ("W", "b")
    decay_names = ("W",)
    default_name = "Conv"
    splits_work = True

    def __init__(self, W, b, kernel_size=None, stride=None, pad=None, input_grad=True, *,
                 init="he", rng=None, dtype=np.float64, algorithm="auto"):
        """The two forms, told apart by ``W``:

        - ``Convolution(in_channels, out_channels, kernel_size, stride=1, pad=0,
          input_grad=True, *, init='he', rng=None, dtype=np.float64, algorithm='auto')``,
          from sizes;
        - ``Convolution(W, b, stride=1, pad=0, input_grad=True, *, algorithm='auto')``, from
          arrays, where the textbook's positional ``Convolution(W, b, stride, pad)`` fills
          the slots after ``b`` in that order (``kernel_size`` is ``W``'s own shape).
        """
        if algorithm not in ALGORITHMS:
            raise ValueError(f"Convolution: algorithm must be one of {list(ALGORITHMS)}, got {algorithm!r}")
        self.algorithm = algorithm
        if not is_size(W):
            if kernel_size is not None:  # the textbook's positional (W, b, stride, pad)
                if stride is not None and pad is not None:
                    raise ValueError("Convolution: from arrays, give W, b, stride, pad (kernel_size is W's shape)")
                stride, pad = kernel_size, (stride if pad is None else pad)
            self._from_arrays(W, b, 1 if stride is None else stride, 0 if pad is None else pad, input_grad)
            return
        if kernel_size is None:
            raise ValueError("Convolution: from sizes, give in_channels, out_channels and kernel_size")
        self._from_sizes(W, b, kernel_size, 1 if stride is None else stride, 0 if pad is None else pad,
                         input_grad, init, rng, dtype)

    def _from_sizes(self, in_channels, out_channels, kernel_size, stride, pad, input_grad, init, rng, dtype):
        c = check_int("Convolution", "in_channels", in_channels)
        fn = check_int("Convolution", "out_channels", out_channels)
        kernel = (kernel_size, kernel_size) if is_size(kernel_size) else tuple(kernel_size)
        if len(kernel) != 2:
            raise ValueError(f"Convolution: kernel_size must be an int or (FH, FW), got {kernel_size!r}")
        fh, fw = (check_int("Convolution", "kernel_size", k) for k in kernel)
        init_rule(init)  # checks the name or number
        dtype = check_dtype("Convolution", dtype)
        W, b = np.empty((fn, c, fh, fw), dtype=dtype), np.empty(fn, dtype=dtype)
        rng = make_rng(rng)
        init_(W, init, c * fh * fw, fn * fh * fw, rng)
        init_bias_(b, init, c * fh * fw, rng)
        self._from_arrays(W, b, stride, pad, input_grad)

    def _from_arrays(self, W, b, stride, pad, input_grad):
        self.W, self.b = check_weight_and_bias("Convolution", W, b, "(FN, C, FH, FW)", out_axis=0)
        self.stride, self.pad = check_stride_pad("Convolution", stride, pad)
        self.input_grad = input_grad
        self.dW = None
        self.db = None
        self._unrolled = None  # the im2col rows or the Winograd tiles of the last forward's input
        fn, c, fh, fw = self.W.shape
        if self.algorithm == "winograd" and not can_use((fh, fw), self.stride, self.pad):
            raise ValueError(f"Convolution: algorithm='winograd' needs a 3x3 kernel, stride 1 and pad <= 2, "
                             f"got kernel {fh}x{fw}, stride {self.stride}, pad {self.pad}")

    def extra_repr(self):
        fn, c, fh, fw = self.W.shape
        winograd = ", winograd" if self.runs_on == "winograd" else ""
        return f"{c} -> {fn}, kernel={fh}x{fw}, stride={self.stride}, pad={self.pad}{winograd}"

    @property
    def runs_on(self):
        """``'winograd'`` or ``'im2col'``: what forward and backward compute with, from
        :attr:`algorithm` and the layer's shape (see :func:`bprop.layers.winograd.resolve`)."""
        fn, c, fh, fw = self.W.shape
        return resolve(self.algorithm, (fh, fw), self.stride, self.pad, c)

    @property
    def fan_in(self):
        return int(np.prod(self.W.shape[1:]))

    @property
    def fan_out(self):
        return self.W.shape[0] * int(np.prod(self.W.shape[2:]))

    def reset_parameters(self, init, rng):
        init_(self.W, init, self.fan_in, self.fan_out, rng)
        init_bias_(self.b, init, self.fan_in, rng)

    def _col_bytes(self, out_hw, dtype):
        """Bytes of one sample's im2col rows."""
        return int(np.prod(out_hw)) * self.fan_in * np.dtype(dtype).itemsize

    def chunks(self, n, out_hw, dtype):
        """The slices of a batch of ``n`` that forward and backward unroll one at a time,
        each holding about ``CHUNK_BYTES`` of im2col matrix."""
        return batch_chunks(n, self._col_bytes(out_hw, dtype))

    def keeps_col(self, n, out_hw, dtype):
        """Whether forward keeps the whole batch's im2col matrix for backward (when it is
        at most ``KEEP_COL_BYTES``) rather than unrolling each chunk again there."""
        return n * self._col_bytes(out_hw, dtype) <= KEEP_COL_BYTES

    def output_shape(self, input_shape):
        fn, c, fh, fw = self.W.shape
        if len(input_shape) != 3 or input_shape[0] != c:
            raise ValueError(f"{self!r}: expects ({c}, H, W) per sample, got input shape {tuple(input_shape)}")
        return (fn,) + window_output(repr(self), input_shape, fh, fw, self.stride, self.pad)

    def forward(self, x, train=True):
        x = np.asarray(x)
        fn, c, fh, fw = self.W.shape
        oh, ow = check_window(repr(self), x, fh, fw, self.stride, self.pad)
        if x.shape[1] != c:
            raise ValueError(
                f"{self!r}: input has {x.shape[1]} channels (shape {x.shape}), W {self.W.shape} expects {c}"
            )
        n, dtype = x.shape[0], np.result_type(x, self.W)
        if self.runs_on == "winograd":
            # the tiles of x and their transforms, a chunk of the batch at a time
            self._unrolled = WinogradConv(x, self.pad, dtype)
        else:
            # col = im2col(x), a chunk of the batch at a time (kept whole for backward when small)
            self._unrolled = ChunkedCol(x, (fh, fw), (oh, ow), self.stride, self.pad, self.chunks(n, (oh, ow), dtype),
                                        self.keeps_col(n, (oh, ow), dtype), dtype)
        return self._unrolled.affine(self.W, self.b)  # y = conv(x, W) + b

    def backward(self, dout):
        col = self._need_cache(self._unrolled)
        check_dout(self, dout, (col.batch, self.W.shape[0]) + col.out_hw)
        # im2col: dW = dout^T col, db = sum dout, dx = col2im(dout W_col)
        dW, db, dx = col.gradients(dout, self.W, self.input_grad)
        self.dW = self._set_grad("W", dW)
        self.db = self._set_grad("b", db)
        return dx

    def _set_grad(self, name, grad):
        """``grad`` written into the network's bound buffer for ``name``, else a new
        C-contiguous copy."""
        buf = self._grad_out(name)
        if buf is None:
            return grad.copy()
        buf[...] = grad
        return buf


def set_algorithm(network, algorithm):
    """Run every :class:`Convolution` of ``network`` (a Sequential, or any layer, containers
    walked) that can use ``algorithm`` on it: ``'winograd'`` for the 3x3, stride-1, ``pad <=
    2`` ones, ``'im2col'`` and ``'auto'`` for all. Returns the number of layers set."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"set_algorithm: algorithm must be one of {list(ALGORITHMS)}, got {algorithm!r}")
    count = 0
    for layer in network.walk():
        if isinstance(layer, Convolution) and (algorithm != "winograd" or can_use(
                layer.W.shape[2:], layer.stride, layer.pad)):
            layer.algorithm = algorithm
            count += 1
    return count
