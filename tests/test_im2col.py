import numpy as np
import pytest

from layers import col2im, im2col
from layers.im2col import output_size, window_add, window_view


def naive_im2col(x, fh, fw, stride, pad):
    """One window per loop iteration: the definition im2col must agree with."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = output_size(h, fh, stride, pad), output_size(w, fw, stride, pad)
    rows = []
    for i in range(n):
        for y in range(oh):
            for z in range(ow):
                rows.append(xp[i, :, y * stride:y * stride + fh, z * stride:z * stride + fw].ravel())
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


def test_col2im_counts_how_often_each_pixel_is_covered():
    counts = col2im(np.ones((4, 4)), (1, 1, 3, 3), 2, 2)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_window_view_copies_nothing_and_is_read_only():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    v = window_view(x, 2, 2, 2)
    assert v.shape == (1, 1, 2, 2, 2, 2) and np.shares_memory(v, x)
    np.testing.assert_array_equal(v[0, 0, 1, 0], [[8, 9], [12, 13]])
    with pytest.raises(ValueError):
        v[0, 0, 0, 0, 0, 0] = 1


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_window_add_overlapping_and_disjoint_paths_agree_with_a_loop(stride):
    rng = np.random.default_rng(stride)
    oh = ow = 3
    win = rng.standard_normal((2, 1, oh, ow, 2, 2))
    size = stride * (oh - 1) + 2
    expected = np.zeros((2, 1, size, size))
    for i in range(oh):
        for j in range(ow):
            expected[:, :, i * stride:i * stride + 2, j * stride:j * stride + 2] += win[:, :, i, j]
    np.testing.assert_allclose(window_add(win, expected.shape, stride), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im_keep_the_dtype(dtype):
    x = np.ones((1, 2, 4, 4), dtype)
    col = im2col(x, 3, 3, 1, 1)
    assert col.dtype == dtype and col.flags.c_contiguous
    assert col2im(col, x.shape, 3, 3, 1, 1).dtype == dtype
