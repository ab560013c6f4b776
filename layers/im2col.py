"""im2col and col2im: unrolling sliding windows so a convolution becomes one matrix product.

A convolution slides a ``(C, FH, FW)`` filter over a padded ``(C, H, W)`` image; each
window position is one dot product. ``im2col`` copies every window into one row of a
matrix, so all filters over all positions are a single GEMM, ``col @ W.reshape(FN, -1).T``.
``col2im`` is its adjoint: it adds each row back onto the pixels its window came from
(overlapping windows add up), which is exactly what the backward pass needs.

Both are vectorised. The windows are a strided *view* of the padded input (no copy
until the final reshape), and ``col2im`` loops at most over the ``FH * FW`` offsets
inside one window, each step one array addition over every window at once; when the
windows do not overlap (``stride >= FH`` and ``stride >= FW``, as in 2x2 pooling with
stride 2) it is a single assignment.

The output size follows ``OH = (H + 2*pad - FH) // stride + 1``; the layers require
the division to be exact, these helpers only need ``FH <= H + 2*pad``.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def output_size(size, kernel, stride, pad):
    """``(size + 2*pad - kernel) // stride + 1``, the number of window positions along one axis."""
    return (size + 2 * pad - kernel) // stride + 1


def pad_images(x, pad, value=0.0):
    """Pad the last two axes of ``x : (N, C, H, W)`` by ``pad`` on every side with ``value``.

    Returns ``x`` itself when ``pad == 0`` (callers only read it).
    """
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant", constant_values=value)


def window_view(xp, fh, fw, stride):
    """Every ``fh x fw`` window of an already padded batch, as a read-only strided view.

    Parameters
    ----------
    xp : (N, C, Hp, Wp) array (any memory layout).
    fh, fw : window height and width, at most Hp and Wp.
    stride : step between neighbouring windows.

    Returns
    -------
    windows : (N, C, OH, OW, fh, fw) view, ``windows[n, c, i, j] ==
        xp[n, c, i*stride:i*stride+fh, j*stride:j*stride+fw]``; no data is copied.
    """
    n, c, hp, wp = xp.shape
    oh = (hp - fh) // stride + 1
    ow = (wp - fw) // stride + 1
    sn, sc, sh, sw = xp.strides
    return as_strided(
        xp,
        shape=(n, c, oh, ow, fh, fw),
        strides=(sn, sc, sh * stride, sw * stride, sh, sw),
        writeable=False,
    )


def window_add(windows, padded_shape, stride, dtype=None):
    """Adjoint of :func:`window_view`: sum every window's values back onto its pixels.

    Parameters
    ----------
    windows : (N, C, OH, OW, fh, fw) array, one value per pixel of each window.
    padded_shape : (N, C, Hp, Wp), the shape :func:`window_view` was given.
    stride : the stride :func:`window_view` used.
    dtype : result dtype, default ``windows.dtype``.

    Returns
    -------
    out : (N, C, Hp, Wp) new array, ``out[n, c, y, x]`` = sum over the windows that
        cover ``(y, x)`` of the value they hold for that pixel (0 where none does).
    """
    n, c, oh, ow, fh, fw = windows.shape
    out = np.zeros(padded_shape, dtype=windows.dtype if dtype is None else dtype)
    if stride >= fh and stride >= fw:
        # No pixel lies in two windows: one strided assignment does it all.
        sn, sc, sh, sw = out.strides
        view = as_strided(out, shape=windows.shape, strides=(sn, sc, sh * stride, sw * stride, sh, sw))
        view[...] = windows
        return out
    # Overlapping windows: loop over the fh*fw offsets inside a window (not over
    # output pixels); each step adds one value from every window at once.
    y_end = stride * (oh - 1) + 1
    x_end = stride * (ow - 1) + 1
    for i in range(fh):
        for j in range(fw):
            out[:, :, i:i + y_end:stride, j:j + x_end:stride] += windows[:, :, :, :, i, j]
    return out


def im2col(x, filter_h, filter_w, stride=1, pad=0):
    """Unroll every filter-sized window of a batch of images into one row.

    Parameters
    ----------
    x : (N, C, H, W) images.
    filter_h, filter_w : window size, ``filter_h <= H + 2*pad``, ``filter_w <= W + 2*pad``.
    stride : step between windows, >= 1.
    pad : zeros added on every side of H and W, >= 0.

    Returns
    -------
    col : (N*OH*OW, C*filter_h*filter_w) new C-contiguous array in the dtype of x.
        Row ``(n*OH + i)*OW + j`` holds window ``(i, j)`` of image ``n``, flattened
        in ``(C, FH, FW)`` order, the order of ``W.reshape(FN, -1)``.
    """
    x = np.asarray(x)
    n, c, h, w = x.shape
    windows = window_view(pad_images(x, pad), filter_h, filter_w, stride)
    oh, ow = windows.shape[2:4]
    # (N, OH, OW, C, FH, FW): one row per window; reshape makes the single copy.
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * filter_h * filter_w)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """Adjoint of :func:`im2col`: add every row back onto the pixels of its window.

    Parameters
    ----------
    col : (N*OH*OW, C*filter_h*filter_w), laid out as :func:`im2col` returns.
    input_shape : (N, C, H, W), the shape of the images im2col was given.
    filter_h, filter_w, stride, pad : as given to im2col.

    Returns
    -------
    x : (N, C, H, W) new array in the dtype of ``col``; a pixel covered by several
        windows receives the sum of their entries, padding is cut away.
    """
    n, c, h, w = input_shape
    oh = output_size(h, filter_h, stride, pad)
    ow = output_size(w, filter_w, stride, pad)
    windows = col.reshape(n, oh, ow, c, filter_h, filter_w).transpose(0, 3, 1, 2, 4, 5)
    out = window_add(windows, (n, c, h + 2 * pad, w + 2 * pad), stride)
    if pad == 0:
        return out
    return out[:, :, pad:pad + h, pad:pad + w]
