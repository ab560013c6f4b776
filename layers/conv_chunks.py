"""A convolution's im2col matrix, unrolled and multiplied a chunk of the batch at a time.

:class:`~bprop.layers.convolution.Convolution` writes its forward as
``y = im2col(x) @ W_col.T + b`` and its backward as ``dW = dout.T @ col``,
``db = sum(dout)``, ``dx = col2im(dout @ W_col)``. :class:`ChunkedCol` computes exactly
these, but never holds more than a chunk of ``col`` at once unless told to keep it:

- each chunk of the batch (a few images, about ``CHUNK_BYTES`` of ``col``, see
  :mod:`bprop.layers.im2col`) is unrolled, multiplied and, in backward, folded back while
  it is in cache, and the chunks run on the threads of :func:`bprop.layers.parallel.run_chunks`;
- a ``col`` the layer decides to keep is filled chunk by chunk in forward and read
  back in backward instead of being unrolled again;
- ``dW`` and ``db`` are sums over the chunks: every chunk writes its own partial sum and
  the partial sums are added in chunk order afterwards, so the bits do not depend on
  which thread ran which chunk;
- ``dx`` of a stride-1 convolution (with ``pad <= kernel - 1``) is itself a convolution,
  of ``dout`` zero-padded by ``kernel - 1 - pad`` with the filters flipped and C, FN
  swapped: one im2col and one GEMM per chunk. Other strides go through
  :func:`bprop.layers.im2col.col2im_dot`, one small GEMM per filter offset.

Everything inside is channels-last (see :mod:`bprop.layers.im2col`); what goes in and
comes out is (N, C, H, W) shaped, as views of channels-last memory.
"""

import numpy as np

from .im2col import col2im_dot, to_channels_last, windows
from .parallel import run_chunks


class ChunkedCol:
    """``col = im2col(x)`` of a batch, unrolled a chunk of the batch at a time.

    Parameters
    ----------
    x : (N, C, H, W) input batch, any memory layout.
    kernel : (FH, FW), the window size.
    out_hw : (OH, OW), the number of window positions.
    stride, pad : as in the convolution.
    chunks : list of slices of ``range(N)``, the pieces worked on at a time.
    keep : bool, whether :meth:`affine` keeps the whole ``(N*OH*OW, FH*FW*C)`` matrix
        for :meth:`gradients` (else backward unrolls each chunk again).
    dtype : the dtype of the output (and of a kept matrix).
    """

    def __init__(self, x, kernel, out_hw, stride, pad, chunks, keep, dtype):
        self.xp = to_channels_last(x, pad)  # (N, H+2p, W+2p, C), a view when pad == 0
        self.kernel, self.out_hw, self.stride, self.pad = tuple(kernel), tuple(out_hw), stride, pad
        self.chunks = chunks
        self.dtype = dtype
        n, _, _, c = self.xp.shape
        self.k = kernel[0] * kernel[1] * c
        self.kept = np.empty((n * out_hw[0] * out_hw[1], self.k), dtype=dtype) if keep else None

    @property
    def batch(self):
        return self.xp.shape[0]

    def rows(self, s, fill=False):
        """The rows of ``col`` for the samples ``s`` (a chunk): the kept matrix's rows
        (first copied in when ``fill``), else the chunk unrolled anew."""
        fh, fw = self.kernel
        oh, ow = self.out_hw
        view = windows(self.xp[s], fh, fw, oh, ow, self.stride)
        if self.kept is None:
            return view.reshape(-1, self.k)
        col = self.kept[s.start * oh * ow:s.stop * oh * ow]
        if fill:
            np.copyto(col.reshape(view.shape), view)
        return col

    def affine(self, W, b):
        """``y = col @ W_col.T + b`` for the filters ``W : (FN, C, FH, FW)`` and ``b : (FN,)``.

        Returns y : (N, FN, OH, OW), a view of channels-last memory, so the next layer's
        im2col and this layer's backward need no transpose copy.
        """
        fn = W.shape[0]
        w_col_t = filters_as_columns(W)
        out = np.empty((self.batch,) + self.out_hw + (fn,), dtype=self.dtype)

        def chunk(i):
            s = self.chunks[i]
            rows = out[s].reshape(-1, fn)
            # the chunk's rows of col are multiplied and the bias added while in cache
            np.matmul(self.rows(s, fill=True), w_col_t, out=rows)
            rows += b

        run_chunks(chunk, len(self.chunks))
        return out.transpose(0, 3, 1, 2)

    def gradients(self, dout, W, input_grad=True):
        """``dW = dout.T @ col``, ``db = sum(dout)``, ``dx = col2im(dout @ W_col)``.

        Parameters
        ----------
        dout : (N, FN, OH, OW), the gradient of :meth:`affine`'s output.
        W : (FN, C, FH, FW), the filters.
        input_grad : bool, whether to compute ``dx`` (None otherwise).

        Returns
        -------
        dW : (FN, C, FH, FW) view, db : (FN,), dx : (N, C, H, W) view of channels-last
        memory, or None.
        """
        d_cl = np.ascontiguousarray(dout.transpose(0, 2, 3, 1))  # (N, OH, OW, FN); free if channels-last
        fn = W.shape[0]
        oh, ow = self.out_hw
        chunks = self.chunks  # as affine unrolled them (and as a kept matrix is laid out)
        parts = np.empty((len(chunks), fn, self.k), dtype=np.result_type(d_cl, self.xp))
        parts_b = np.empty((len(chunks), fn), dtype=d_cl.dtype)
        # db sums dout over the rows of a chunk: a product with a vector of ones is a BLAS
        # matrix-vector product, about 20 times faster than np.sum over that axis.
        ones = np.ones(max(s.stop - s.start for s in chunks) * oh * ow, dtype=d_cl.dtype)
        dx = _InputGradient(d_cl, W, self) if input_grad else None

        def chunk(i):
            s = chunks[i]
            d = d_cl[s].reshape(-1, fn)
            np.matmul(d.T, self.rows(s), out=parts[i])
            np.matmul(ones[:d.shape[0]], d, out=parts_b[i])
            if dx is not None:
                dx.add(s, d)

        run_chunks(chunk, len(chunks))
        dw = sum_in_order(parts).reshape((fn,) + self.kernel + (-1,)).transpose(0, 3, 1, 2)
        return dw, sum_in_order(parts_b), (None if dx is None else dx.result())


def filters_as_columns(W):
    """``W : (FN, C, FH, FW)`` as the (FH*FW*C, FN) matrix ``W_col.T``, its rows in
    im2col's window order (FH, FW, C)."""
    fn = W.shape[0]
    return W.transpose(2, 3, 1, 0).reshape(-1, fn)


def sum_in_order(parts):
    """``parts[0] + parts[1] + ...`` added in that order, into ``parts[0]``."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


class _InputGradient:
    """``dx = col2im(dout @ W_col)`` of a :class:`ChunkedCol`, filled one chunk at a time."""

    def __init__(self, d_cl, W, col):
        fn, c, fh, fw = W.shape
        n, hp, wp, _ = col.xp.shape
        p = col.pad
        self.W, self.d_cl, self.col = W, d_cl, col
        self.hw = (hp - 2 * p, wp - 2 * p)
        dtype = np.result_type(d_cl, W)
        # dx of a stride-1 convolution with pad <= kernel - 1 is the convolution of dout,
        # zero-padded by kernel - 1 - pad, with the filters flipped and C, FN swapped.
        self.flip = col.stride == 1 and p <= fh - 1 and p <= fw - 1
        if self.flip:
            self.dx = np.empty((n,) + self.hw + (c,), dtype=dtype)
            self.w_flip = W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(fh * fw * fn, c)
        else:
            self.dx = np.zeros((n, hp, wp, c), dtype=dtype)  # padded; cut in result()

    def add(self, s, d):
        """Write the samples ``s`` of dx, from ``d``, their (rows, FN) slice of dout."""
        fn, c, fh, fw = self.W.shape
        h, w = self.hw
        m = s.stop - s.start
        if not self.flip:
            col2im_dot(d, self.W, (m, c, h, w), self.col.stride, self.col.pad, out=self.dx[s])
            return
        oh, ow = self.col.out_hw
        qh, qw = fh - 1 - self.col.pad, fw - 1 - self.col.pad
        dp = np.zeros((m, oh + 2 * qh, ow + 2 * qw, fn), dtype=self.d_cl.dtype)
        dp[:, qh:qh + oh, qw:qw + ow, :] = self.d_cl[s]
        np.matmul(windows(dp, fh, fw, h, w, 1).reshape(-1, fh * fw * fn), self.w_flip,
                  out=self.dx[s].reshape(-1, c))

    def result(self):
        """dx : (N, C, H, W), a view of the channels-last buffer without the padding."""
        dx = self.dx
        if not self.flip:
            p, (h, w) = self.col.pad, self.hw
            dx = dx[:, p:p + h, p:p + w, :]
        return dx.transpose(0, 3, 1, 2)
