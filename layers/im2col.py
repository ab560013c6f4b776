"""im2col and col2im: unrolling sliding windows so a convolution becomes one matrix product.

A convolution slides a ``(C, FH, FW)`` filter over a padded ``(C, H, W)`` image; each
window position is one dot product. ``im2col`` copies every window into one row of a
matrix, so all filters over all positions are a single GEMM. ``col2im`` is its
adjoint: it adds each row back onto the pixels its window came from (overlapping
windows add up), which is exactly what the backward pass needs.

Memory layout. Arrays keep the (N, C, H, W) shape everywhere, but a row of ``col``
is ordered ``(FH, FW, C)`` (channels last), not the textbook's ``(C, FH, FW)``: the
windows are read from a channels-last copy of the image, where each pixel's C values
are adjacent, so the copy moves runs of C floats instead of runs of FW. The layer
multiplies by ``W.transpose(0, 2, 3, 1).reshape(FN, -1)`` to match, and the
(N, C, H, W) arrays it returns are views of channels-last memory, which the next
convolution reads without another transpose. With ``C == 1`` both orders coincide.

Both functions are vectorised: the windows are a strided view (no copy until the
final reshape), and ``col2im`` loops only over the ``FH * FW`` offsets inside a
window, each step one array addition over every window at once.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .checks import check_int


def output_size(size, kernel, stride, pad):
    """``(size + 2*pad - kernel) // stride + 1``, the number of window positions along one axis."""
    return (size + 2 * pad - kernel) // stride + 1


def to_channels_last(x, pad=0, value=0.0):
    """``x : (N, C, H, W)`` as a (N, H+2p, W+2p, C) array, padded on H and W with ``value``.

    Without padding this is a view (free when ``x`` already lives in channels-last
    memory, e.g. the output of a Convolution); with padding, a new C-contiguous array.
    """
    xh = x.transpose(0, 2, 3, 1)
    if pad == 0:
        return xh
    return np.pad(xh, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=value)


def channels_last_zeros(n, c, h, w, dtype):
    """A zero (N, C, H, W) array whose memory is laid out as (N, H, W, C)."""
    return np.zeros((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def window_offsets(fh, fw, oh, ow, stride):
    """For each offset ``(i, j)`` inside a window, the slices of the padded image it sees.

    Yields ``(i, j, rows, cols)``: ``xp[..., rows, cols]`` is the ``(OH, OW)`` grid
    of the pixels at offset ``(i, j)`` of every window. Looping over these ``fh*fw``
    offsets (never over the ``OH*OW`` windows) is how col2im and pooling stay vectorised.
    """
    y_end = stride * (oh - 1) + 1
    x_end = stride * (ow - 1) + 1
    for i in range(fh):
        for j in range(fw):
            yield i, j, slice(i, i + y_end, stride), slice(j, j + x_end, stride)


def windows(xp, fh, fw, oh, ow, stride):
    """The ``(N, OH, OW, FH, FW, C)`` strided view of every window of a channels-last batch.

    ``xp : (N, Hp, Wp, C)`` is the (already padded) image batch in channels-last order;
    ``windows(...).reshape(N*OH*OW, FH*FW*C)`` is :func:`im2col`'s matrix (the reshape
    is the one copy). A read-only view: nothing is copied until then.
    """
    n, _, _, c = xp.shape
    sn, sh, sw, sc = xp.strides
    return as_strided(xp, shape=(n, oh, ow, fh, fw, c),
                      strides=(sn, sh * stride, sw * stride, sh, sw, sc), writeable=False)


def im2col(x, filter_h, filter_w, stride=1, pad=0):
    """Unroll every filter-sized window of a batch of images into one row.

    Parameters
    ----------
    x : (N, C, H, W) images, any memory layout.
    filter_h, filter_w : window size, ``filter_h <= H + 2*pad``, ``filter_w <= W + 2*pad``.
    stride : step between windows, >= 1.
    pad : zeros added on every side of H and W, >= 0.

    Returns
    -------
    col : (N*OH*OW, filter_h*filter_w*C) new C-contiguous array in the dtype of x.
        Row ``(n*OH + i)*OW + j`` holds window ``(i, j)`` of image ``n``, flattened in
        ``(FH, FW, C)`` order, the order of ``W.transpose(0, 2, 3, 1).reshape(FN, -1)``.
    """
    x = np.asarray(x)
    n, c, h, w = x.shape
    oh, ow = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    view = windows(to_channels_last(x, pad), filter_h, filter_w, oh, ow, stride)
    return view.reshape(n * oh * ow, filter_h * filter_w * c)  # the one copy


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """Adjoint of :func:`im2col`: add every row back onto the pixels of its window.

    Parameters
    ----------
    col : (N*OH*OW, filter_h*filter_w*C), laid out as :func:`im2col` returns.
    input_shape : (N, C, H, W), the shape of the images im2col was given.
    filter_h, filter_w, stride, pad : as given to im2col.

    Returns
    -------
    x : (N, C, H, W) in the dtype of ``col``, a view of a new channels-last buffer;
        a pixel covered by several windows receives the sum of their entries, and the
        padding is cut away.
    """
    n, c, h, w = input_shape
    oh, ow = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    windows = col.reshape(n, oh, ow, filter_h, filter_w, c)
    out = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=col.dtype)
    for i, j, rows, cols in window_offsets(filter_h, filter_w, oh, ow, stride):
        out[:, rows, cols, :] += windows[:, :, :, i, j, :]
    return out[:, pad:pad + h, pad:pad + w, :].transpose(0, 3, 1, 2)


def col2im_dot(dy, W, input_shape, stride=1, pad=0, out=None):
    """``col2im(dy @ W_col, input_shape, FH, FW, stride, pad)`` without building ``dy @ W_col``.

    The backward of a convolution needs the gradient of its input: the matrix
    ``dcol = dy @ W_col`` (one row per window, ``FH*FW*C`` wide) folded back onto the
    image by :func:`col2im`. Its columns for filter offset ``(i, j)`` are
    ``dy @ W[:, :, i, j]``, and all of them land on the same shifted pixel grid. So
    this function does one small GEMM per offset and adds each result straight onto
    its grid: the same arithmetic, but the ``FH*FW``-times larger ``dcol`` is never
    written and read back, which makes it several times faster than the two steps.

    Parameters
    ----------
    dy : (N*OH*OW, FN), the output gradient with one row per window (channels last).
    W : (FN, C, FH, FW), the filters.
    input_shape : (N, C, H, W), the shape of the convolution's input.
    stride, pad : as in the convolution.
    out : None, or a (N, H+2*pad, W+2*pad, C) array to add the result into (padded,
        channels-last); by default a new zero one.

    Returns
    -------
    dx : (N, C, H, W) view of ``out`` (channels-last memory) without the padding.
    """
    n, c, h, w = input_shape
    fn, _, fh, fw = W.shape
    oh, ow = output_size(h, fh, stride, pad), output_size(w, fw, stride, pad)
    w_offsets = np.ascontiguousarray(W.transpose(2, 3, 0, 1))  # (FH, FW, FN, C)
    if out is None:
        out = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=np.result_type(dy, W))
    for i, j, rows, cols in window_offsets(fh, fw, oh, ow, stride):
        out[:, rows, cols, :] += (dy @ w_offsets[i, j]).reshape(n, oh, ow, c)
    return out[:, pad:pad + h, pad:pad + w, :].transpose(0, 3, 1, 2)


# --- window geometry and the chunks of a batch, shared by convolution and pooling ---------

def check_window(owner, x, fh, fw, stride, pad):
    """Validate a 4-D input batch against a ``fh x fw`` window; return ``(OH, OW)``.

    Raises ValueError naming ``owner`` and the shapes when ``x`` is not a non-empty
    (N, C, H, W) batch or the window is larger than the padded input.
    """
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"{owner}: input must be a non-empty 4-D batch (N, C, H, W), got shape {x.shape}")
    return window_output(owner, x.shape[1:], fh, fw, stride, pad)


def window_output(owner, chw, fh, fw, stride, pad):
    """``(OH, OW)`` of a ``fh x fw`` window sliding over one sample of shape ``(C, H, W)``.

    As in PyTorch, ``OH = (H + 2*pad - fh) // stride + 1``: when the stride does not
    divide ``H + 2*pad - fh``, the last rows and columns no window covers are left
    out (their gradient is zero). A window larger than the padded input is refused.
    """
    h, w = chw[1:]
    hp, wp = h + 2 * pad, w + 2 * pad
    if fh > hp or fw > wp:
        raise ValueError(
            f"{owner}: window {fh}x{fw} is larger than the padded input {hp}x{wp} "
            f"(input shape {tuple(chw)} per sample, pad={pad})"
        )
    return output_size(h, fh, stride, pad), output_size(w, fw, stride, pad)


#: bytes of im2col matrix built at a time. The batch is unrolled, multiplied and (in
#: backward) folded back a few images at a time, each chunk while it is in the core's
#: L2 cache: one im2col matrix of the whole batch (45 MB for DeepConvNet's second
#: convolution) sends every pass over it to main memory, which made the narrow layers
#: several times slower than their matrix products.
CHUNK_BYTES = 1 << 20
def batch_chunks(n, bytes_per_sample):
    """Slices of ``range(n)`` holding about ``CHUNK_BYTES`` at ``bytes_per_sample`` each."""
    step = max(1, CHUNK_BYTES // max(1, bytes_per_sample))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def check_stride_pad(owner, stride, pad):
    """Return ``(stride, pad)`` as ints, or raise ValueError unless stride >= 1 and pad >= 0."""
    return check_int(owner, "stride", stride, 1), check_int(owner, "pad", pad, 0)
