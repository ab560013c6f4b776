"""F(2x2, 3x3)'s three tile transforms as compiled loops, one pass over memory each.

:mod:`bprop.layers.winograd_transforms` applies ``B^T``, ``A^T`` and ``A`` to every tile as
whole-array additions over strided views: each row of a matrix is a pass over all tiles,
and the padded copy of the input and the cropped copy of the output are passes of their
own. With 16 to 64 channels the contiguous runs of those views are short, and the passes
cost more than the batched products they feed. Here each transform is one compiled loop
(:mod:`bprop.layers.compiled`) over the tiles that reads a tile once, keeps it in registers, writes its 16 (or 4)
results, and treats the zero padding and the crop as bounds, so no padded or cropped copy
is made. The arithmetic is the same additions in the same order as the whole-array
version, so both give the same bits (the tests compare them).

Every function works on channels-last arrays, the innermost loop over the contiguous
channels (which the compiler vectorises); chunks of the batch run on several threads at
once (:func:`bprop.layers.parallel.run_chunks`).

Tiles are numbered ``p = (n * TH + a) * TW + b`` for tile row ``a`` and column ``b`` of
sample ``n``; tile ``(a, b)`` of the output covers rows ``2a, 2a + 1`` and columns
``2b, 2b + 1``, and reads rows ``2a - top .. 2a - top + 3`` of the input.
"""

import numpy as np

from .compiled import compiled, inlined


@inlined
def _tile_origin(p, th, tw):
    """Sample, row and column of the top-left output of tile ``p`` (module docstring)."""
    i, k = divmod(p, th * tw)
    a, b = divmod(k, tw)
    return i, 2 * a, 2 * b


@inlined
def _bt_d_b(d, i, r, q, v, p):
    """``V = B^T d B`` of the 4x4 tile of ``d`` at sample ``i``, row ``r``, column ``q``,
    every channel, into ``v[:, p]``."""
    for c in range(v.shape[2]):
        d00, d01, d02, d03 = d[i, r, q, c], d[i, r, q + 1, c], d[i, r, q + 2, c], d[i, r, q + 3, c]
        d10, d11, d12, d13 = d[i, r + 1, q, c], d[i, r + 1, q + 1, c], d[i, r + 1, q + 2, c], d[i, r + 1, q + 3, c]
        d20, d21, d22, d23 = d[i, r + 2, q, c], d[i, r + 2, q + 1, c], d[i, r + 2, q + 2, c], d[i, r + 2, q + 3, c]
        d30, d31, d32, d33 = d[i, r + 3, q, c], d[i, r + 3, q + 1, c], d[i, r + 3, q + 2, c], d[i, r + 3, q + 3, c]
        # B^T d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
        t00, t01, t02, t03 = d00 - d20, d01 - d21, d02 - d22, d03 - d23
        t10, t11, t12, t13 = d10 + d20, d11 + d21, d12 + d22, d13 + d23
        t20, t21, t22, t23 = d20 - d10, d21 - d11, d22 - d12, d23 - d13
        t30, t31, t32, t33 = d10 - d30, d11 - d31, d12 - d32, d13 - d33
        # (B^T d) B: the same combinations of the columns
        v[0, p, c], v[1, p, c], v[2, p, c], v[3, p, c] = t00 - t02, t01 + t02, t02 - t01, t01 - t03
        v[4, p, c], v[5, p, c], v[6, p, c], v[7, p, c] = t10 - t12, t11 + t12, t12 - t11, t11 - t13
        v[8, p, c], v[9, p, c], v[10, p, c], v[11, p, c] = t20 - t22, t21 + t22, t22 - t21, t21 - t23
        v[12, p, c], v[13, p, c], v[14, p, c], v[15, p, c] = t30 - t32, t31 + t32, t32 - t31, t31 - t33


@compiled
def input_transform(x, top, th, tw, v):
    """``V = B^T d B`` of every 4x4 input tile, the image read as if padded with zeros.

    x : (n, H, W, C), the samples, any strides; top : the zero rows and columns before the
    image (the convolution's padding); th, tw : tile rows and columns;
    v : (16, n*th*tw, C), written.
    """
    n, h, w, cn = x.shape
    edge = np.zeros((1, 4, 4, cn), dtype=v.dtype)  # a border tile, zeros outside the image
    zero = edge[0, 0, 0, 0]
    for p in range(n * th * tw):
        i, r, q = _tile_origin(p, th, tw)
        r, q = r - top, q - top
        if r >= 0 and q >= 0 and r + 4 <= h and q + 4 <= w:
            _bt_d_b(x, i, r, q, v, p)
        else:
            for k in range(4):
                for j in range(4):
                    inside = 0 <= r + k < h and 0 <= q + j < w
                    for c in range(cn):
                        edge[0, k, j, c] = x[i, r + k, q + j, c] if inside else zero
            _bt_d_b(edge, 0, 0, 0, v, p)


@inlined
def _at_m_a(m, p, f):
    """``A^T M A`` of tile ``p``, filter ``f``: its four outputs (top left, top right,
    bottom left, bottom right)."""
    # A^T M: rows M0 + M1 + M2 and M1 - M2 - M3
    s0 = m[0, p, f] + m[4, p, f] + m[8, p, f]
    s1 = m[1, p, f] + m[5, p, f] + m[9, p, f]
    s2 = m[2, p, f] + m[6, p, f] + m[10, p, f]
    s3 = m[3, p, f] + m[7, p, f] + m[11, p, f]
    u0 = m[4, p, f] - m[8, p, f] - m[12, p, f]
    u1 = m[5, p, f] - m[9, p, f] - m[13, p, f]
    u2 = m[6, p, f] - m[10, p, f] - m[14, p, f]
    u3 = m[7, p, f] - m[11, p, f] - m[15, p, f]
    # (A^T M) A: the same combinations of the columns
    return s0 + s1 + s2, s1 - s2 - s3, u0 + u1 + u2, u1 - u2 - u3


@compiled
def output_transform(m, bias, y):
    """``y = A^T M A + bias`` of every tile, cropped to ``y``'s rows and columns.

    m : (16, n*TH*TW, F), the products, with ``TH = ceil(OH / 2)`` and ``TW = ceil(OW / 2)``;
    bias : (F,); y : (n, OH, OW, F), written.
    """
    n, oh, ow, fn = y.shape
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    for p in range(n * th * tw):
        i, r, q = _tile_origin(p, th, tw)
        lower, right = r + 1 < oh, q + 1 < ow
        if lower and right:  # (the loop without tests vectorises better)
            for f in range(fn):
                y00, y01, y10, y11 = _at_m_a(m, p, f)
                y[i, r, q, f] = y00 + bias[f]
                y[i, r, q + 1, f] = y01 + bias[f]
                y[i, r + 1, q, f] = y10 + bias[f]
                y[i, r + 1, q + 1, f] = y11 + bias[f]
        else:  # a tile over the last row or column of an odd-sized output
            for f in range(fn):
                y00, y01, y10, y11 = _at_m_a(m, p, f)
                y[i, r, q, f] = y00 + bias[f]
                if right:
                    y[i, r, q + 1, f] = y01 + bias[f]
                if lower:
                    y[i, r + 1, q, f] = y10 + bias[f]


@inlined
def _a_dy_at(y00, y01, y10, y11, dm, p, f):
    """``dM = A dY A^T`` of one 2x2 tile ``dY``, into ``dm[:, p, f]``."""
    # A dY: rows y0, y0 + y1, y0 - y1, -y1
    t00, t01 = y00, y01
    t10, t11 = y00 + y10, y01 + y11
    t20, t21 = y00 - y10, y01 - y11
    t30, t31 = -y10, -y11
    # (A dY) A^T: the same combinations of the columns
    dm[0, p, f], dm[1, p, f], dm[2, p, f], dm[3, p, f] = t00, t00 + t01, t00 - t01, -t01
    dm[4, p, f], dm[5, p, f], dm[6, p, f], dm[7, p, f] = t10, t10 + t11, t10 - t11, -t11
    dm[8, p, f], dm[9, p, f], dm[10, p, f], dm[11, p, f] = t20, t20 + t21, t20 - t21, -t21
    dm[12, p, f], dm[13, p, f], dm[14, p, f], dm[15, p, f] = t30, t30 + t31, t30 - t31, -t31


@compiled
def output_grad_transform(dy, dm):
    """``dM = A dY A^T`` of every 2x2 tile of ``dy``, zeros beyond its rows and columns (the
    adjoint of :func:`output_transform`'s crop).

    dy : (n, OH, OW, F); dm : (16, n*TH*TW, F), written, ``TH = ceil(OH / 2)``,
    ``TW = ceil(OW / 2)``.
    """
    n, oh, ow, fn = dy.shape
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    zero = np.zeros(1, dtype=dm.dtype)[0]
    for p in range(n * th * tw):
        i, r, q = _tile_origin(p, th, tw)
        lower, right = r + 1 < oh, q + 1 < ow
        if lower and right:
            for f in range(fn):
                _a_dy_at(dy[i, r, q, f], dy[i, r, q + 1, f], dy[i, r + 1, q, f], dy[i, r + 1, q + 1, f], dm, p, f)
        else:
            for f in range(fn):
                _a_dy_at(dy[i, r, q, f], dy[i, r, q + 1, f] if right else zero,
                         dy[i, r + 1, q, f] if lower else zero, zero, dm, p, f)


def stack(count, rows, cols, dtype):
    """An uninitialised ``(count, rows, cols)`` array whose matrices are C-contiguous but
    not a multiple of 4 KiB apart: the transforms write all ``count`` matrices at once,
    and with 4 KiB-aligned strides those 16 streams compete for the same cache sets (with
    64 channels and 1600 tiles the input transform ran 10x slower)."""
    dtype = np.dtype(dtype)
    line = 64 // dtype.itemsize  # a cache line
    step = -(-rows * cols // line) * line + line
    if (step * dtype.itemsize) % 4096 == 0:
        step += line
    return np.empty((count, step), dtype=dtype)[:, :rows * cols].reshape(count, rows, cols)
