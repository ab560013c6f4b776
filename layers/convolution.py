"""The 2-D convolution layer, computed as im2col followed by a matrix product, in chunks."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_weight_and_bias, is_size
from .im2col import (batch_chunks, check_stride_pad, check_window, col2im_dot, to_channels_last,
                     window_output, windows)
from .init import gaussian_, init_scale
from .parallel import run_chunks
from .rng import make_rng


#: an im2col matrix of the whole batch up to this size is built at once and kept for
#: backward (it stays in the last-level cache; unrolling it again would cost more)
KEEP_COL_BYTES = 6 << 20


class Convolution(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library).

    ``y[n, f, i, j] = b[f] + sum_{c, p, q} W[f, c, p, q] * xp[n, c, i*s + p, j*s + q]``,
    where ``xp`` is ``x`` zero-padded by ``pad`` on every side and ``s`` the stride.
    Computed as ``im2col(x) @ W_col.T + b`` with ``W_col`` the filters flattened in
    im2col's window order; backward ``dW = dout.T @ col`` and ``dx = col2im(dout @ W_col)``.
    Both run over chunks of the batch (see :data:`bprop.layers.im2col.CHUNK_BYTES`):
    forward keeps the padded input, and the whole batch's ``col`` only when it is at most
    ``KEEP_COL_BYTES``; otherwise backward unrolls each chunk again while it is in cache. ``dx`` of a stride-1 convolution is itself a
    convolution, of the zero-padded ``dout`` with the flipped filters (one im2col and
    one GEMM per chunk); other strides use one small GEMM per filter offset
    (:func:`bprop.layers.im2col.col2im_dot`). With ``T > 1`` BLAS threads the chunks
    run on ``T`` threads, one BLAS thread each (:mod:`bprop.layers.parallel`); dW and db
    are summed in chunk order, so the results are the same bits for every ``T``. The
    output is a (N, FN, OH, OW) view of channels-last memory (see
    :mod:`bprop.layers.im2col`).

    Built from arrays, as in the textbook, ``Convolution(W, b, stride=1, pad=0)``, or
    from sizes, as in PyTorch, ``Convolution(in_channels, out_channels, kernel_size,
    stride=1, pad=0, init='he', rng=None, dtype=np.float64)`` with ``kernel_size`` an
    int or ``(FH, FW)``: ``W ~ N(0, s**2)`` with ``s`` from ``init`` and the fan-in
    ``C*FH*FW``, b = 0.

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
                 init="he", rng=None, dtype=np.float64):
        """The two forms, told apart by ``W``:

        - ``Convolution(in_channels, out_channels, kernel_size, stride=1, pad=0,
          input_grad=True, *, init='he', rng=None, dtype=np.float64)``, from sizes;
        - ``Convolution(W, b, stride=1, pad=0, input_grad=True)``, from arrays, where the
          textbook's positional ``Convolution(W, b, stride, pad)`` fills the slots after
          ``b`` in that order (``kernel_size`` is ``W``'s own shape).
        """
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
        init_scale(init, 1)  # checks the name or number
        dtype = check_dtype("Convolution", dtype)
        W = np.empty((fn, c, fh, fw), dtype=dtype)
        gaussian_(W, init, c * fh * fw, make_rng(rng))
        self._from_arrays(W, np.zeros(fn, dtype=dtype), stride, pad, input_grad)

    def _from_arrays(self, W, b, stride, pad, input_grad):
        self.W, self.b = check_weight_and_bias("Convolution", W, b, "(FN, C, FH, FW)", out_axis=0)
        self.stride, self.pad = check_stride_pad("Convolution", stride, pad)
        self.input_grad = input_grad
        self.dW = None
        self.db = None
        self._xp = None
        self._col = None
        self._chunks = None
        self._x_shape = None
        self._out_hw = None

    def extra_repr(self):
        fn, c, fh, fw = self.W.shape
        return f"{c} -> {fn}, kernel={fh}x{fw}, stride={self.stride}, pad={self.pad}"

    @property
    def fan_in(self):
        return int(np.prod(self.W.shape[1:]))

    def reset_parameters(self, init, rng):
        gaussian_(self.W, init, self.fan_in, rng)
        self.b[...] = 0

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
        n, k = x.shape[0], fh * fw * c
        dtype = np.result_type(x, self.W)
        xp = to_channels_last(x, self.pad)  # (N, H+2p, W+2p, C), a view when pad == 0
        # im2col orders a window (FH, FW, C): the filters are flattened the same way.
        w_col_t = self.W.transpose(2, 3, 1, 0).reshape(k, fn)
        out = np.empty((n, oh, ow, fn), dtype=dtype)
        chunks = self.chunks(n, (oh, ow), dtype)
        # a kept matrix is filled chunk by chunk too: its rows for a chunk are multiplied
        # and the bias added while they are in cache
        col_all = np.empty((n * oh * ow, k), dtype=dtype) if self.keeps_col(n, (oh, ow), dtype) else None

        def forward_chunk(i):
            s = chunks[i]
            view = windows(xp[s], fh, fw, oh, ow, self.stride)
            if col_all is None:
                col = view.reshape(-1, k)
            else:
                col = col_all[s.start * oh * ow:s.stop * oh * ow]
                np.copyto(col.reshape(view.shape), view)
            rows = out[s].reshape(-1, fn)
            np.matmul(col, w_col_t, out=rows)
            rows += self.b

        run_chunks(forward_chunk, len(chunks))
        self._chunks = chunks
        self._col = col_all
        self._xp = xp
        self._x_shape = x.shape
        self._out_hw = (oh, ow)
        # (N, OH, OW, FN) -> (N, FN, OH, OW) as a view; the memory stays channels-last,
        # so the next layer's im2col and this layer's backward need no transpose copy.
        return out.transpose(0, 3, 1, 2)

    def backward(self, dout):
        xp = self._need_cache(self._xp)
        fn, c, fh, fw = self.W.shape
        n, _, h, w = self._x_shape
        oh, ow = self._out_hw
        check_dout(self, dout, (n, fn, oh, ow))
        k, stride, p = fh * fw * c, self.stride, self.pad
        d_cl = np.ascontiguousarray(dout.transpose(0, 2, 3, 1))  # (N, OH, OW, FN); free if channels-last
        # dW and db are sums over the chunks: each chunk's products go to its own slot and
        # the slots are added in chunk order, the same sums whichever thread ran which chunk.
        chunks = self._chunks  # as forward unrolled them (and as a kept matrix is laid out)
        parts = np.empty((len(chunks), fn, k), dtype=np.result_type(d_cl, xp))
        parts_b = np.empty((len(chunks), fn), dtype=d_cl.dtype)
        # db sums dout over the rows of a chunk: a product with a vector of ones is a BLAS
        # matrix-vector product, about 20 times faster than np.sum over that axis.
        ones = np.ones(max(s.stop - s.start for s in chunks) * oh * ow, dtype=d_cl.dtype)
        # dx of a stride-1 convolution with pad <= kernel - 1 is the convolution of dout,
        # zero-padded by kernel - 1 - pad, with the filters flipped and C, FN swapped.
        flip = stride == 1 and p <= fh - 1 and p <= fw - 1
        if self.input_grad:
            dx = np.empty((n, h, w, c), dtype=np.result_type(d_cl, self.W)) if flip \
                else np.zeros(xp.shape[:3] + (c,), dtype=np.result_type(d_cl, self.W))
            if flip:
                qh, qw = fh - 1 - p, fw - 1 - p
                w_flip = self.W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(fh * fw * fn, c)

        def backward_chunk(i):
            s = chunks[i]
            if self._col is not None:
                col = self._col[s.start * oh * ow:s.stop * oh * ow]
            else:
                col = windows(xp[s], fh, fw, oh, ow, stride).reshape(-1, k)
            d = d_cl[s].reshape(-1, fn)
            np.matmul(d.T, col, out=parts[i])
            np.matmul(ones[:d.shape[0]], d, out=parts_b[i])
            if not self.input_grad:
                return
            if flip:
                m = d_cl[s].shape[0]
                dp = np.zeros((m, oh + 2 * qh, ow + 2 * qw, fn), dtype=d_cl.dtype)
                dp[:, qh:qh + oh, qw:qw + ow, :] = d_cl[s]
                np.matmul(windows(dp, fh, fw, h, w, 1).reshape(-1, fh * fw * fn), w_flip,
                          out=dx[s].reshape(-1, c))
            else:
                col2im_dot(d, self.W, (d_cl[s].shape[0], c, h, w), stride, p, out=dx[s])

        run_chunks(backward_chunk, len(chunks))
        dw, db = parts[0], parts_b[0]
        for part, part_b in zip(parts[1:], parts_b[1:]):
            dw += part
            db += part_b
        buf = self._grad_out("b")
        if buf is None:
            self.db = db.copy()
        else:
            buf[...] = db
            self.db = buf
        dw = dw.reshape(fn, fh, fw, c).transpose(0, 3, 1, 2)  # back to (FN, C, FH, FW)
        buf = self._grad_out("W")
        if buf is None:
            self.dW = np.ascontiguousarray(dw)
        else:
            buf[...] = dw
            self.dW = buf
        if not self.input_grad:
            return None
        if not flip:
            dx = dx[:, p:p + h, p:p + w, :]
        return dx.transpose(0, 3, 1, 2)
