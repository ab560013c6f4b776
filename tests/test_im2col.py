import numpy as np
import pytest

from bprop.layers import col2im, im2col
from bprop.layers.im2col import channels_last_zeros, col2im_dot, output_size, to_channels_last, window_offsets


def naive_im2col(x, fh, fw, stride, pad):
    """One window per loop iteration: the definition im2col must agree with."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = output_size(h, fh, stride, pad), output_size(w, fw, stride, pad)
    rows = []
    for i in range(n):
        for y in range(oh):
            for z in range(ow):
                window = xp[i, :, y * stride:y * stride + fh, z * stride:z * stride + fw]
                rows.append(window.transpose(1, 2, 0).ravel())  # (FH, FW, C) order
    return np.array(rows)


def test_im2col_hand_values_on_a_3x3_image():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    col = im2col(x, 2, 2)
    np.testing.assert_array_equal(col, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])


def test_im2col_pads_with_zeros():
    col = im2col(np.ones((1, 1, 1, 1)), 3, 3, pad=1)
    np.testing.assert_array_equal(col, [[0, 0, 0, 0, 1, 0, 0, 0, 0]])


@pytest.mark.parametrize("shape, fh, fw, stride, pad", [
    ((2, 3, 5, 7), 3, 3, 1, 0),
    ((2, 3, 5, 7), 3, 3, 2, 1),
    ((1, 2, 6, 4), 2, 2, 2, 0),
    ((3, 1, 7, 5), 3, 1, 2, 2),
    ((2, 2, 8, 8), 2, 2, 3, 0),  # stride larger than the window: gaps between windows
])
def test_im2col_matches_the_loop_definition(shape, fh, fw, stride, pad):
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(im2col(x, fh, fw, stride, pad), naive_im2col(x, fh, fw, stride, pad))


@pytest.mark.parametrize("shape, fh, fw, stride, pad", [
    ((2, 3, 5, 7), 3, 3, 1, 0),
    ((2, 3, 5, 7), 3, 3, 2, 1),
    ((1, 2, 6, 4), 2, 2, 2, 0),
    ((2, 2, 8, 8), 2, 2, 3, 1),
])
def test_col2im_is_the_adjoint_of_im2col(shape, fh, fw, stride, pad):
    # <im2col(x), c> == <x, col2im(c)> for every x and c is what backward relies on.
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    col = im2col(x, fh, fw, stride, pad)
    c = rng.standard_normal(col.shape)
    back = col2im(c, shape, fh, fw, stride, pad)
    assert back.shape == shape
    np.testing.assert_allclose(np.vdot(col, c), np.vdot(x, back), rtol=1e-12)


@pytest.mark.parametrize("shape, fh, fw, stride, pad", [
    ((2, 3, 5, 7), 3, 3, 1, 0),
    ((2, 3, 5, 7), 3, 3, 2, 1),
    ((1, 2, 6, 4), 2, 2, 2, 0),
    ((2, 2, 8, 8), 2, 2, 3, 1),
    ((2, 1, 6, 6), 5, 5, 1, 2),
])
def test_col2im_dot_equals_col2im_of_the_product(shape, fh, fw, stride, pad):
    rng = np.random.default_rng(2)
    n, c = shape[:2]
    W = rng.standard_normal((4, c, fh, fw))
    rows = n * output_size(shape[2], fh, stride, pad) * output_size(shape[3], fw, stride, pad)
    dy = rng.standard_normal((rows, 4))
    expected = col2im(dy @ W.transpose(0, 2, 3, 1).reshape(4, -1), shape, fh, fw, stride, pad)
    np.testing.assert_allclose(col2im_dot(dy, W, shape, stride, pad), expected, rtol=1e-12, atol=1e-12)


def test_col2im_counts_how_often_each_pixel_is_covered():
    counts = col2im(np.ones((4, 4)), (1, 1, 3, 3), 2, 2)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_im2col_orders_each_row_filter_row_then_column_then_channel():
    x = np.stack([np.arange(4.0).reshape(2, 2), 10 + np.arange(4.0).reshape(2, 2)])[None]  # (1, 2, 2, 2)
    np.testing.assert_array_equal(im2col(x, 2, 2), [[0, 10, 1, 11, 2, 12, 3, 13]])


def test_im2col_with_flattened_filters_is_a_convolution():
    rng = np.random.default_rng(3)
    x, W = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((4, 3, 3, 2))
    y = im2col(x, 3, 2) @ W.transpose(0, 2, 3, 1).reshape(4, -1).T  # (N*OH*OW, FN)
    direct = np.einsum("nchw,fchw->nf", x[:, :, 1:4, 2:4], W)  # window (1, 2)
    np.testing.assert_allclose(y.reshape(2, 3, 3, 4)[:, 1, 2], direct, rtol=1e-12)


def test_col2im_returns_the_input_shape_in_channels_last_memory():
    back = col2im(np.ones((2 * 9, 4 * 3)), (2, 3, 5, 5), 2, 2, stride=2, pad=1)
    assert back.shape == (2, 3, 5, 5)
    assert back.strides[1] == back.itemsize  # the C values of a pixel are adjacent
    np.testing.assert_array_equal(back[0, 0], [[1, 1, 1, 1, 1]] * 5)  # disjoint 2x2 windows cover all


def test_window_offsets_cover_every_window_pixel_once():
    x = np.arange(5 * 7.0).reshape(5, 7)
    oh, ow = output_size(5, 3, 2, 0), output_size(7, 3, 2, 0)
    grids = {(i, j): x[rows, cols] for i, j, rows, cols in window_offsets(3, 3, oh, ow, 2)}
    assert len(grids) == 9 and all(g.shape == (oh, ow) for g in grids.values())
    np.testing.assert_array_equal(grids[(1, 2)], [[9, 11, 13], [23, 25, 27]])  # x[1 + 2a, 2 + 2b]


def test_to_channels_last_pads_only_height_and_width():
    x = np.ones((1, 2, 2, 3))
    xh = to_channels_last(x, 1, value=-1.0)
    assert xh.shape == (1, 4, 5, 2) and xh.flags.c_contiguous
    assert xh[0, 0, 0, 0] == -1 and xh[0, 1, 1, 1] == 1
    assert np.shares_memory(to_channels_last(x), x)
    z = channels_last_zeros(2, 3, 4, 5, np.float32)
    assert z.shape == (2, 3, 4, 5) and z.transpose(0, 2, 3, 1).flags.c_contiguous and not z.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im_keep_the_dtype(dtype):
    x = np.ones((1, 2, 4, 4), dtype)
    col = im2col(x, 3, 3, 1, 1)
    assert col.dtype == dtype and col.flags.c_contiguous
    assert col2im(col, x.shape, 3, 3, 1, 1).dtype == dtype
    assert col2im_dot(np.ones((16, 2), dtype), np.ones((2, 2, 3, 3), dtype), x.shape, 1, 1).dtype == dtype
