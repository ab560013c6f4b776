"""3x3, stride-1 convolutions by Winograd's minimal filtering, a chunk of the batch at a time.

:class:`~bprop.layers.convolution.Convolution` computes ``y = conv(x, W) + b`` and its
gradients. For a 3x3 kernel, stride 1 and ``pad <= 2``, :class:`WinogradConv` computes
them with F(m x m, 3x3) (Lavin and Gray 2016; the transforms are in
:mod:`bprop.layers.winograd_transforms`), ``m = TILE`` unless told otherwise:

- forward: the padded image is cut into ``alpha x alpha`` tiles (``alpha = m + 2``)
  overlapping by 2; ``V = B^T d B`` per tile and channel, ``U = G g G^T`` per filter and
  channel, ``M[xi] = V[xi] @ U[xi]`` at each of the ``alpha^2`` positions ``xi`` (one
  batched matrix product), ``Y = A^T M A`` per tile, plus the bias, cropped to OH x OW (the
  image is padded with zeros on the bottom and right so that whole tiles cover it);
- ``dW``: ``dM = A dY A^T`` per tile of ``dout`` (zero beyond OH x OW),
  ``dU[xi] = V[xi]^T @ dM[xi]``, ``dW = G^T dU G``; ``db = sum(dout)``;
- ``dx``: the convolution of ``dout``, zero-padded by ``2 - pad``, with the filters
  flipped and C, FN swapped, computed by the same forward routine.

As in :mod:`bprop.layers.conv_chunks`, everything is channels-last, the batch is worked on
in chunks whose ``V`` and ``M`` take about ``CHUNK_BYTES`` (see :mod:`bprop.layers.im2col`),
run by :func:`bprop.layers.parallel.run_chunks`, and ``dU`` and ``db`` are sums of one
partial per chunk added in chunk order, so the bits do not depend on the thread count.
Forward keeps every chunk's ``V`` for backward when all of them take at most
``KEEP_V_BYTES``; otherwise backward transforms each chunk of ``x`` again.

Which convolutions use it: with the default ``algorithm='auto'`` every 3x3, stride-1
convolution with at least :data:`MIN_CHANNELS` input channels, and any that can with
``algorithm='winograd'`` (see :class:`~bprop.layers.convolution.Convolution`, and
:func:`bprop.layers.convolution.set_algorithm` for every layer of a network). F(2x2, 3x3)'s
transforms run as compiled loops (:mod:`bprop.layers.winograd_kernels`), one pass over
memory each; F(4x4, 3x3)'s as whole-array additions (:mod:`bprop.layers.winograd_transforms`).
"""

import numpy as np

from . import winograd_kernels as kernels
from .conv_chunks import sum_in_order
from .im2col import batch_chunks, windows
from .parallel import run_chunks
from .winograd_transforms import (filter_grad_transform, filter_transform, input_transform, matrices,
                                  output_grad_transform, output_transform, tiles_of)

#: the output tile size m of F(m x m, 3x3) the layers use: F(2x2, 3x3) multiplies 16 times
#: per 4 outputs instead of 36 and rounds almost as im2col does; F(4x4, 3x3) (36 per 16) is
#: several times less accurate in float32 (see scripts/winograd_error.py)
TILE = 2
#: forward keeps the whole batch's transformed tiles ``V`` for backward up to this size:
#: 32 MiB holds DeepConvNet's largest (16 channels at 28x28, 20 MB for 100 images in
#: float32), whose second transform cost 4 of a 76 ms step on one thread
KEEP_V_BYTES = 32 << 20
#: what ``Convolution(..., algorithm=...)`` accepts
ALGORITHMS = ("auto", "im2col", "winograd")
#: ``'auto'`` runs a convolution that can use Winograd on it from this many input channels
#: (an RGB image) up. Below, its ``(alpha^2, tiles, F)`` products outweigh im2col's ``9 C``
#: columns per output: for 1 -> 16 channels at 28x28 im2col is 2 to 3 times as fast, at 2
#: they tie, from 3 up Winograd takes 0.67-0.89 of im2col's time (one thread, float32,
#: forward and backward; scripts/BENCHMARKS.md)
MIN_CHANNELS = 3


def can_use(kernel, stride, pad):
    """Whether a convolution with ``kernel`` (FH, FW), ``stride`` and ``pad`` can run on
    Winograd's F(m x m, 3x3): a 3x3 kernel, stride 1 and ``pad <= 2`` (so that ``dx`` is a
    3x3 convolution of ``dout`` too)."""
    return tuple(kernel) == (3, 3) and stride == 1 and 0 <= pad <= 2


def resolve(algorithm, kernel, stride, pad, in_channels):
    """What a convolution built with ``algorithm`` runs on, ``'winograd'`` or ``'im2col'``:
    ``'auto'`` is Winograd when :func:`can_use` allows it and ``in_channels >=
    MIN_CHANNELS``, im2col otherwise."""
    if algorithm == "auto":
        return "winograd" if can_use(kernel, stride, pad) and in_channels >= MIN_CHANNELS else "im2col"
    return algorithm


class WinogradConv:
    """A 3x3, stride-1 convolution of the batch ``x`` by F(m x m, 3x3), chunk by chunk.

    Parameters
    ----------
    x : (N, C, H, W) input batch, any memory layout; referenced, not copied.
    pad : int in [0, 2], zeros around H and W.
    dtype : the dtype computed in and returned.
    tile : m, 2 (:data:`TILE`) or 4.

    The methods :meth:`affine` and :meth:`gradients` are those of
    :class:`bprop.layers.conv_chunks.ChunkedCol`.
    """

    def __init__(self, x, pad, dtype, tile=TILE):
        _, self.g, self.at = matrices(tile)  # (the input transform B^T is the plan's)
        self.tile, self.pad, self.dtype = tile, pad, np.dtype(dtype)
        self.x_cl = x.transpose(0, 2, 3, 1)  # (N, H, W, C), a view
        self.out_hw = (x.shape[2] + 2 * pad - 2, x.shape[3] + 2 * pad - 2)
        self.plan = None
        self.kept = None

    @property
    def batch(self):
        return self.x_cl.shape[0]

    def affine(self, W, b):
        """``y = conv(x, W) + b`` for the filters ``W : (FN, C, 3, 3)`` and ``b : (FN,)``.

        Returns y : (N, FN, OH, OW), a view of channels-last memory.
        """
        n, _, _, c = self.x_cl.shape
        fn = W.shape[0]
        self.plan = _Plan(self.tile, self.out_hw, self.pad, c, fn, n, self.dtype)
        keep = self.plan.v_bytes(n) <= KEEP_V_BYTES
        self.kept = [None] * len(self.plan.chunks) if keep else None
        out = np.empty((n,) + self.out_hw + (fn,), dtype=self.dtype)
        u = filter_transform(W, self.g, self.dtype)

        def chunk(i):
            v = self.plan.forward(self.x_cl, i, u, out, b)
            if keep:
                self.kept[i] = v

        run_chunks(chunk, len(self.plan.chunks))
        return out.transpose(0, 3, 1, 2)

    def gradients(self, dout, W, input_grad=True):
        """``dW = G^T (V^T dM) G`` with ``dM = A dY A^T``, ``db = sum(dout)``, and ``dx`` the
        convolution of the padded ``dout`` with the flipped filters.

        Parameters
        ----------
        dout : (N, FN, OH, OW), the gradient of :meth:`affine`'s output.
        W : (FN, C, 3, 3), the filters.
        input_grad : bool, whether to compute ``dx`` (None otherwise).

        Returns
        -------
        dW : (FN, C, 3, 3), db : (FN,), dx : (N, C, H, W) view of channels-last memory, or None.
        """
        d_cl = np.ascontiguousarray(dout.transpose(0, 2, 3, 1))  # (N, OH, OW, FN)
        plan, fn, c = self.plan, W.shape[0], W.shape[1]
        chunks = plan.chunks
        gdtype = np.result_type(d_cl, self.dtype)
        parts = np.empty((len(chunks), plan.alpha ** 2, c, fn), dtype=gdtype)
        parts_b = np.empty((len(chunks), fn), dtype=d_cl.dtype)
        # db: a product with a vector of ones is a BLAS matrix-vector product (see conv_chunks)
        ones = np.ones(max(s.stop - s.start for s in chunks) * plan.out_hw[0] * plan.out_hw[1], dtype=d_cl.dtype)
        if input_grad:
            h, w = self.x_cl.shape[1:3]
            back = _Plan(self.tile, (h, w), 2 - self.pad, fn, c, self.batch, gdtype, chunks)
            u_flip = filter_transform(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), self.g, gdtype)
            dx = np.empty((self.batch, h, w, c), dtype=gdtype)

        def chunk(i):
            s = chunks[i]
            d = d_cl[s]
            v = self.kept[i] if self.kept is not None else plan.transform(self.x_cl, i)
            dm = kernels.stack(plan.alpha ** 2, v.shape[1], fn, gdtype)
            if self.tile == 2:
                kernels.output_grad_transform(d.astype(gdtype, copy=False), dm)
            else:
                output_grad_transform(tiles_of(plan.padded_output(d), self.tile), self.at, dm)
            np.matmul(v.transpose(0, 2, 1), dm, out=parts[i])
            np.matmul(ones[:d.shape[0] * d.shape[1] * d.shape[2]], d.reshape(-1, fn), out=parts_b[i])
            if input_grad:
                back.forward(d_cl, i, u_flip, dx, None)

        run_chunks(chunk, len(chunks))
        dW = filter_grad_transform(sum_in_order(parts), self.g, gdtype)
        return dW, sum_in_order(parts_b), (dx.transpose(0, 3, 1, 2) if input_grad else None)


def conv2d(x, W, b=None, pad=1, tile=TILE):
    """``y = conv(x, W) + b`` by F(tile x tile, 3x3) in one call (no gradients).

    x : (N, C, H, W); W : (FN, C, 3, 3); b : (FN,) or None; returns (N, FN, OH, OW) in the
    dtype of ``x`` and ``W`` together.
    """
    x, W = np.asarray(x), np.asarray(W)
    if W.shape[2:] != (3, 3) or x.ndim != 4 or x.shape[1] != W.shape[1]:
        raise ValueError(f"winograd.conv2d: needs x (N, C, H, W) and W (FN, C, 3, 3), got {x.shape} and {W.shape}")
    dtype = np.result_type(x, W)
    return WinogradConv(x, pad, dtype, tile).affine(W, np.zeros(W.shape[0], dtype) if b is None else b)


def step_products(c, fn, in_hw, pad, batch, dtype, input_grad=True, tile=TILE):
    """The matrix products a training step of a ``C -> FN`` Winograd convolution on a batch
    of ``batch`` images ``in_hw`` (H, W) runs, as ``(m, k, n, layout, alpha^2)``: for each
    chunk of the batch, forward ``V @ U`` (P, C) @ (C, FN), ``dU = V^T dM`` (C, P) @ (P, FN)
    and, with ``input_grad``, the flipped convolution of ``dout`` (P', FN) @ (FN, C), each a
    stack of ``alpha^2`` products (``P`` tiles of the chunk's output, ``P'`` of its input)."""
    h, w = in_hw
    plan = _Plan(tile, (h + 2 * pad - 2, w + 2 * pad - 2), pad, c, fn, batch, dtype)
    back = _Plan(tile, (h, w), 2 - pad, fn, c, batch, dtype, plan.chunks)
    stack = plan.alpha ** 2
    products = []
    for s in plan.chunks:
        p, p_in = (s.stop - s.start) * plan.th * plan.tw, (s.stop - s.start) * back.th * back.tw
        products += [(p, c, fn, "nn", stack), (c, p, fn, "tn", stack)]
        if input_grad:
            products.append((p_in, fn, c, "nn", stack))
    return products


class _Plan:
    """The tiles of one convolution shape: ``out_hw`` outputs from a (N, H, W, C) channels-last
    input placed at row and column ``top`` of a zero image that whole tiles cover.

    chunks : the slices of the batch worked on at a time; by default each holding about
    ``CHUNK_BYTES`` of ``V`` and ``M``.
    """

    def __init__(self, tile, out_hw, top, c, fn, n, dtype, chunks=None):
        self.tile, self.alpha, self.out_hw, self.top = tile, tile + 2, tuple(out_hw), top
        self.c, self.fn, self.dtype = c, fn, np.dtype(dtype)
        self.bt, _, self.at = matrices(tile)
        self.th, self.tw = (-(-size // tile) for size in self.out_hw)
        self.chunks = chunks if chunks is not None else batch_chunks(n, self.v_bytes(1) * (c + fn) // c)

    def v_bytes(self, n):
        """Bytes of ``V`` for ``n`` samples."""
        return self.alpha ** 2 * n * self.th * self.tw * self.c * self.dtype.itemsize

    def padded_input(self, src, s):
        """``src[s]`` (n, H, W, C) at row and column ``top`` of zeros (n, TH*m+2, TW*m+2, C)
        in ``dtype``; ``src[s]`` itself when it is that already."""
        shape = (self.th * self.tile + 2, self.tw * self.tile + 2)
        part = src[s]
        if self.top == 0 and part.shape[1:3] == shape and part.dtype == self.dtype:
            return part
        h, w = part.shape[1:3]
        out = np.zeros((part.shape[0],) + shape + (part.shape[3],), dtype=self.dtype)
        out[:, self.top:self.top + h, self.top:self.top + w] = part
        return out

    def padded_output(self, d):
        """``d : (n, OH, OW, F)`` C-contiguous, as (n, TH*m, TW*m, F) with zeros beyond."""
        shape = (self.th * self.tile, self.tw * self.tile)
        if d.shape[1:3] == shape:
            return d
        out = np.zeros((d.shape[0],) + shape + (d.shape[3],), dtype=d.dtype)
        out[:, :d.shape[1], :d.shape[2]] = d
        return out

    def tiles(self, s, cols):
        """A ``(alpha^2, n*TH*TW, cols)`` array for the tiles of the chunk ``s`` (see
        :func:`bprop.layers.winograd_kernels.stack`)."""
        return kernels.stack(self.alpha ** 2, (s.stop - s.start) * self.th * self.tw, cols, self.dtype)

    def transform(self, src, i):
        """``V = B^T d B`` of chunk ``i``'s tiles: (alpha^2, n*TH*TW, C)."""
        s = self.chunks[i]
        v = self.tiles(s, self.c)
        if self.tile == 2:  # (the additions in the plan's dtype: a float32 input to a float64 layer is cast first)
            kernels.input_transform(src[s].astype(self.dtype, copy=False), self.top, self.th, self.tw, v)
        else:
            xp = self.padded_input(src, s)
            input_transform(windows(xp, self.alpha, self.alpha, self.th, self.tw, self.tile), self.bt, v)
        return v

    def forward(self, src, i, u, out, bias):
        """Write chunk ``i`` of ``out : (N, OH, OW, F)``, ``A^T [(B^T d B) @ U] A + bias``,
        from ``src : (N, H, W, C)`` and ``U : (alpha^2, C, F)``; return the chunk's ``V``."""
        s = self.chunks[i]
        v = self.transform(src, i)
        m = np.matmul(v, u, out=self.tiles(s, self.fn))
        if self.tile == 2:
            kernels.output_transform(m, np.zeros(self.fn, out.dtype) if bias is None else bias, out[s])
            return v
        oh, ow = self.out_hw
        target = out[s]
        whole = (oh, ow) == (self.th * self.tile, self.tw * self.tile)
        y = target if whole else np.empty((s.stop - s.start, self.th * self.tile, self.tw * self.tile, self.fn),
                                          dtype=out.dtype)
        output_transform(m, self.at, tiles_of(y, self.tile))
        if bias is not None:
            np.add(y[:, :oh, :ow], bias, out=target)
        elif not whole:
            np.copyto(target, y[:, :oh, :ow])
        return v
