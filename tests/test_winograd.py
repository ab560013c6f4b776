import importlib

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bprop.layers import Affine, Convolution, Relu
from bprop.layers.conv_chunks import ChunkedCol
from bprop.layers.convolution import set_algorithm
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient, check_without_input_grad
from bprop.layers.winograd import MIN_CHANNELS, TILE, WinogradConv, conv2d
from bprop.layers.winograd_transforms import matrices
from bprop.networks import Sequential
from bprop.networks.residual import Residual

im2col_module = importlib.import_module("bprop.layers.im2col")  # the module: bprop.layers.im2col is also a function
winograd_module = importlib.import_module("bprop.layers.winograd")


def direct_conv(x, W, b, pad):
    """y[n, f, i, j] = b[f] + sum_{c,p,q} W[f, c, p, q] xp[n, c, i+p, j+q], in float64, loop over the 9 offsets."""
    x, W = x.astype(np.float64), W.astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = xp.shape[2] - 2, xp.shape[3] - 2
    y = np.zeros((x.shape[0], W.shape[0], oh, ow)) + b.astype(np.float64)[:, None, None]
    for p in range(3):
        for q in range(3):
            y += np.einsum("ncij,fc->nfij", xp[:, :, p:p + oh, q:q + ow], W[:, :, p, q])
    return y


def pair(W, b, pad):
    """The same layer twice: Winograd and im2col."""
    return (Convolution(W, b, pad=pad, algorithm="winograd"), Convolution(W, b, pad=pad, algorithm="im2col"))


# --- the transforms --------------------------------------------------------------------------

@pytest.mark.parametrize("tile", [2, 4])
def test_winograd_one_dimensional_identity_equals_direct_correlation(tile):
    bt, g_mat, at = matrices(tile)
    rng = np.random.default_rng(tile)
    for _ in range(10):
        d, g = rng.standard_normal(tile + 2), rng.standard_normal(3)
        y = at @ ((g_mat @ g) * (bt @ d))
        np.testing.assert_allclose(y, [d[i:i + 3] @ g for i in range(tile)], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("tile", [2, 4])
def test_winograd_two_dimensional_identity_equals_direct_correlation(tile):
    bt, g_mat, at = matrices(tile)
    rng = np.random.default_rng(10 + tile)
    for _ in range(10):
        d, g = rng.standard_normal((tile + 2, tile + 2)), rng.standard_normal((3, 3))
        y = at @ ((g_mat @ g @ g_mat.T) * (bt @ d @ bt.T)) @ at.T
        direct = [[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(tile)] for i in range(tile)]
        np.testing.assert_allclose(y, direct, rtol=1e-12, atol=1e-12)


def test_winograd_f23_matrices_are_lavin_and_grays():
    bt, g_mat, at = matrices(2)
    np.testing.assert_array_equal(bt, [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    np.testing.assert_array_equal(g_mat, [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    np.testing.assert_array_equal(at, [[1, 1, 1, 0], [0, 1, -1, -1]])
    assert TILE == 2


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("x_shape, pad", [((2, 3, 5, 7), 1), ((1, 2, 1, 1), 1), ((3, 4, 6, 6), 0), ((2, 3, 3, 2), 2)])
def test_winograd_conv2d_equals_direct_convolution_in_float64(tile, x_shape, pad):
    rng = np.random.default_rng(sum(x_shape) + pad)
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal((5, x_shape[1], 3, 3)), rng.standard_normal(5)
    np.testing.assert_allclose(conv2d(x, W, b, pad, tile), direct_conv(x, W, b, pad), rtol=1e-12, atol=1e-12)


# --- the layer: hand values, agreement with im2col, numerical gradients ---------------------

def test_winograd_forward_hand_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    layer = Convolution(np.ones((1, 1, 3, 3)), np.array([0.5]), algorithm="winograd")
    # each output is 0.5 + the sum of a 3x3 block of [[0 1 2 3] [4 5 6 7] [8 9 10 11] [12 13 14 15]]
    np.testing.assert_array_equal(layer.forward(x), [[[[45.5, 54.5], [81.5, 90.5]]]])
    W = np.zeros((2, 1, 3, 3))
    W[0, 0, 0, 0] = 1.0   # filter 0 reads the top-left neighbour: the image moves down and right
    W[1, 0, 1, 1] = -2.0  # filter 1 is -2 times the centre
    y = Convolution(W, np.zeros(2), pad=1, algorithm="winograd").forward(np.arange(9.0).reshape(1, 1, 3, 3))
    np.testing.assert_array_equal(y[0, 0], [[0, 0, 0], [0, 0, 1], [0, 3, 4]])
    np.testing.assert_array_equal(y[0, 1], -2 * np.arange(9.0).reshape(3, 3))


def _random_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        pad = int(rng.integers(0, 3))
        h, w = (int(rng.integers(max(1, 3 - 2 * pad), 10)) for _ in range(2))
        cases.append(((int(rng.integers(1, 6)), int(rng.integers(1, 8)), h, w), int(rng.integers(1, 8)), pad))
    return cases


@pytest.mark.parametrize("x_shape, fn, pad", [
    ((1, 1, 1, 1), 1, 1), ((2, 3, 2, 3), 4, 1), ((3, 2, 3, 1), 2, 1), ((1, 7, 3, 3), 5, 0), ((2, 2, 1, 2), 3, 2),
    ((5, 4, 8, 8), 6, 1), ((4, 5, 7, 9), 7, 1), ((2, 3, 6, 5), 3, 2),
] + _random_cases(12, 0))
def test_winograd_forward_and_gradients_equal_im2col_in_float64(x_shape, fn, pad):
    rng = np.random.default_rng(sum(x_shape) + fn + pad)
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal((fn, x_shape[1], 3, 3)), rng.standard_normal(fn)
    wino, ref = pair(W, b, pad)
    y, y_ref = wino.forward(x), ref.forward(x)
    assert isinstance(wino._unrolled, WinogradConv) and isinstance(ref._unrolled, ChunkedCol)
    scale = np.abs(y_ref).max()
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-13 * scale)
    dout = rng.standard_normal(y.shape)
    dx, dx_ref = wino.backward(dout), ref.backward(dout)
    assert dx.shape == x_shape
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=1e-13 * np.abs(dx_ref).max())
    np.testing.assert_allclose(wino.dW, ref.dW, rtol=0, atol=1e-13 * np.abs(ref.dW).max())
    np.testing.assert_allclose(wino.db, ref.db, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x_shape, pad", [((3, 2, 5, 4), 1), ((2, 3, 4, 4), 0), ((2, 2, 3, 5), 2)])
def test_winograd_f43_gradients_equal_im2col_in_float64(x_shape, pad):
    rng = np.random.default_rng(sum(x_shape))
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal((3, x_shape[1], 3, 3)), rng.standard_normal(3)
    ref = Convolution(W, b, pad=pad, algorithm="im2col")
    wino = WinogradConv(x, pad, np.float64, tile=4)
    y_ref, y = ref.forward(x), wino.affine(W, b)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-12 * np.abs(y_ref).max())
    dout = rng.standard_normal(y.shape)
    dx_ref = ref.backward(dout)
    dW, db, dx = wino.gradients(dout, W)
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=1e-12 * np.abs(dx_ref).max())
    np.testing.assert_allclose(dW, ref.dW, rtol=0, atol=1e-12 * np.abs(ref.dW).max())
    np.testing.assert_allclose(db, ref.db, rtol=1e-13)


@pytest.mark.parametrize("x_shape, fn, pad", [
    ((2, 3, 5, 5), 4, 1), ((2, 2, 4, 7), 3, 0), ((1, 2, 2, 3), 2, 2), ((3, 1, 1, 1), 2, 1), ((2, 2, 5, 6), 3, 1),
])
def test_winograd_backward_matches_numerical(x_shape, fn, pad):
    rng = np.random.default_rng(sum(x_shape) + pad)
    layer = Convolution(rng.standard_normal((fn, x_shape[1], 3, 3)), rng.standard_normal(fn), pad=pad,
                        algorithm="winograd")
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal(x_shape), rng=rng)
    assert set(analytic) == {"x", "W", "b"}
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("keep", [False, True])
def test_winograd_in_chunks_of_the_batch_matches_numerical_and_the_whole_batch(monkeypatch, keep):
    # every sample its own chunk; V kept for backward or transformed again there
    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(winograd_module, "KEEP_V_BYTES", 1 << 30 if keep else 0)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5, 6))
    layer = Convolution(rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2), pad=1, algorithm="winograd")
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert_gradients_close(analytic, numeric)
    assert len(layer._unrolled.plan.chunks) == 4 and (layer._unrolled.kept is not None) == keep
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    dx = layer.backward(dout)
    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1 << 30)
    whole = Convolution(layer.W, layer.b, pad=1, algorithm="winograd")
    np.testing.assert_allclose(whole.forward(x), y, rtol=1e-13, atol=1e-13)
    assert len(whole._unrolled.plan.chunks) == 1
    np.testing.assert_allclose(whole.backward(dout), dx, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(whole.dW, layer.dW, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(whole.db, layer.db, rtol=1e-13, atol=1e-13)


def test_winograd_without_input_grad_returns_none_but_sets_parameter_gradients():
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2)
    x = rng.standard_normal((2, 1, 5, 5))
    full, first = (Convolution(W, b, pad=1, input_grad=g, algorithm="winograd") for g in (True, False))
    check_without_input_grad(full, first, x, rng.standard_normal((2, 2, 5, 5)))


def test_winograd_backward_leaves_dout_and_x_unchanged_and_keeps_float32():
    rng = np.random.default_rng(1)
    layer = Convolution(rng.standard_normal((2, 3, 3, 3), dtype=np.float32), np.zeros(2, np.float32), pad=1,
                        algorithm="winograd")
    x = rng.standard_normal((2, 3, 4, 5), dtype=np.float32)
    x_copy = x.copy()
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape, dtype=np.float32)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy)
    np.testing.assert_array_equal(x, x_copy)
    assert not np.shares_memory(dx, dout) and not np.shares_memory(dx, x)
    assert y.dtype == dx.dtype == layer.dW.dtype == layer.db.dtype == np.float32
    # a float32 input to float64 filters is computed in float64
    wide = Convolution(layer.W.astype(np.float64), np.zeros(2), pad=1, algorithm="winograd")
    assert wide.forward(x).dtype == np.float64


def test_winograd_writes_into_a_networks_gradient_buffers_and_equals_im2col():
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((6, 2, 7, 7)), rng.integers(0, 3, 6)
    net = Sequential([Convolution(2, 4, 3, pad=1), Relu(), Convolution(4, 3, 3, pad=0), Relu(), Affine(75, 3)],
                     input_shape=(2, 7, 7), rng=0)
    assert set_algorithm(net, "winograd") == 2
    assert [net.layers[k].algorithm for k in ("Conv1", "Conv2")] == ["winograd", "winograd"]
    grads = net.gradient(x, t)
    for i in (1, 2):  # the layers wrote into the network's bound gradient buffers
        assert np.shares_memory(net.layers[f"Conv{i}"].dW, grads[f"W{i}"])
    grads = {k: v.copy() for k, v in grads.items()}
    assert set_algorithm(net, "im2col") == 2
    ref = net.gradient(x, t)
    assert isinstance(net.layers["Conv1"]._unrolled, ChunkedCol)
    for key in grads:
        np.testing.assert_allclose(grads[key], ref[key], rtol=1e-11, atol=1e-13, err_msg=key)


# --- threads and float32 accuracy ------------------------------------------------------------

@pytest.mark.parametrize("pad, keep", [(1, False), (1, True), (0, False), (2, True)])
def test_winograd_gives_the_same_bits_on_one_and_two_threads(monkeypatch, pad, keep):
    monkeypatch.setattr(im2col_module, "CHUNK_BYTES", 1)  # every sample its own chunk
    monkeypatch.setattr(winograd_module, "KEEP_V_BYTES", 1 << 30 if keep else 0)
    rng = np.random.default_rng(pad)
    x = rng.standard_normal((9, 3, 9, 10)).astype(np.float32)
    results = []
    for threads in (1, 2):
        layer = Convolution(3, 5, 3, pad=pad, rng=1, dtype=np.float32, algorithm="winograd")
        with threadpool_limits(threads, user_api="blas"):
            y = layer.forward(x)
            assert len(layer._unrolled.plan.chunks) == 9 and (layer._unrolled.kept is not None) == keep
            dx = layer.backward(np.cos(y))
        results.append((y, dx, layer.dW, layer.db))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def _float32_errors(x, W, b, tile):
    """Max-abs errors, relative to the largest reference value, of y, dx and dW in float32."""
    y64 = direct_conv(x, W, b, 1)
    dout = np.cos(y64)
    ref = Convolution(W, b, pad=1, algorithm="im2col")
    ref.forward(x)
    dx64 = ref.backward(dout)
    dW64 = ref.dW
    x32, W32, b32, d32 = (a.astype(np.float32) for a in (x, W, b, dout))
    if tile is None:
        layer = Convolution(W32, b32, pad=1, algorithm="im2col")
        y, dx = layer.forward(x32), layer.backward(d32)
        dW = layer.dW
    else:
        wino = WinogradConv(x32, 1, np.float32, tile)
        y = wino.affine(W32, b32)
        dW, _, dx = wino.gradients(d32, W32)
    return [np.abs(a - r).max() / np.abs(r).max() for a, r in ((y, y64), (dx, dx64), (dW, dW64))]


@pytest.mark.parametrize("c, fn, hw", [(1, 16, 28), (16, 32, 14), (64, 64, 7)])
def test_winograd_float32_error_stays_near_im2col(c, fn, hw):
    """The largest float32 error, relative to the largest value: F(2x2, 3x3) within 3 times
    im2col's and 1e-6 (often below im2col's; dW on OpenBLAS's Haswell kernels came to 2.04
    times), F(4x4, 3x3) within 40 times and 2e-5, on He-scaled random filters."""
    rng = np.random.default_rng(c + fn)
    x = rng.standard_normal((6, c, hw, hw))
    W = rng.standard_normal((fn, c, 3, 3)) * np.sqrt(2 / (9 * c))
    b = 0.1 * rng.standard_normal(fn)
    im2col_err = _float32_errors(x, W, b, None)
    for tile, factor, bound in ((2, 3, 1e-6), (4, 40, 2e-5)):
        for what, err, base in zip(("y", "dx", "dW"), _float32_errors(x, W, b, tile), im2col_err):
            assert err <= max(factor * base, 1e-7) and err <= bound, (tile, what, err, base)


# --- choosing the algorithm ------------------------------------------------------------------

def test_auto_is_the_default_and_runs_winograd_from_three_input_channels():
    assert MIN_CHANNELS == 3
    for c, kwargs, runs_on in [(1, {"pad": 1}, "im2col"), (2, {"pad": 1}, "im2col"), (3, {"pad": 1}, "winograd"),
                               (16, {}, "winograd"), (16, {"pad": 2}, "winograd"), (16, {"pad": 3}, "im2col"),
                               (16, {"stride": 2}, "im2col"), (16, {"kernel_size": 5}, "im2col")]:
        layer = Convolution(c, 2, kwargs.pop("kernel_size", 3), **kwargs)
        assert (layer.algorithm, layer.runs_on) == ("auto", runs_on), (c, kwargs)
        layer.forward(np.zeros((1, c, 6, 6)))
        assert isinstance(layer._unrolled, WinogradConv if runs_on == "winograd" else ChunkedCol)
    forced = Convolution(1, 2, 3, pad=1, algorithm="winograd")
    assert forced.runs_on == "winograd" and Convolution(16, 2, 3, algorithm="im2col").runs_on == "im2col"


def test_set_algorithm_picks_the_layers_winograd_can_run():
    assert Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2), 1, 1, algorithm="winograd").algorithm == "winograd"
    inner = Residual([Convolution(2, 2, 3, pad=1), Relu(), Convolution(2, 2, 3, pad=1)])
    layers = [Convolution(1, 2, 3, pad=p) for p in (0, 1, 2, 3)] + [Convolution(1, 2, 3, stride=2, pad=1),
                                                                      Convolution(1, 2, 5, pad=2)]
    for layer in layers:
        assert set_algorithm(layer, "winograd") == (layer.pad <= 2 and layer.stride == 1 and layer.W.shape[2] == 3)
    assert [layer.algorithm for layer in layers] == ["winograd"] * 3 + ["auto"] * 3  # the others left as built
    assert [layer.runs_on for layer in layers] == ["winograd"] * 3 + ["im2col"] * 3
    assert set_algorithm(inner, "winograd") == 2  # containers are walked
    assert all(layer.algorithm == "winograd" for layer in inner.walk() if isinstance(layer, Convolution))
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    inner.forward(x)
    assert all(isinstance(layer._unrolled, WinogradConv) for layer in inner.walk() if isinstance(layer, Convolution))
    assert set_algorithm(inner, "im2col") == 2
    assert set_algorithm(layers[3], "auto") == 1 and layers[3].algorithm == "auto"
    with pytest.raises(ValueError, match="set_algorithm: algorithm must be one of .*got 'fft'"):
        set_algorithm(inner, "fft")


def test_repr_and_summary_show_winograd():
    assert repr(Convolution(1, 2, 3, pad=1, algorithm="winograd")) == \
        "Convolution(1 -> 2, kernel=3x3, stride=1, pad=1, winograd)"
    assert repr(Convolution(1, 2, 3, pad=1)) == "Convolution(1 -> 2, kernel=3x3, stride=1, pad=1)"
    assert repr(Convolution(3, 2, 3)) == "Convolution(3 -> 2, kernel=3x3, stride=1, pad=0, winograd)"  # auto
    net = Sequential([Convolution(1, 2, 3, pad=1), Convolution(2, 2, 3, stride=2)], input_shape=(1, 6, 6), rng=0)
    set_algorithm(net, "winograd")
    text = net.summary()
    assert "Conv1: Convolution(1 -> 2, kernel=3x3, stride=1, pad=1, winograd)" in text
    assert "Conv2: Convolution(2 -> 2, kernel=3x3, stride=2, pad=0)" in text


@pytest.mark.parametrize("args, kwargs, match", [
    ((1, 2, 3), {"algorithm": "fft"},
     r"Convolution: algorithm must be one of \['auto', 'im2col', 'winograd'\], got 'fft'"),
    ((np.zeros((2, 1, 3, 3)), np.zeros(2)), {"algorithm": None}, "algorithm must be one of .*got None"),
    ((1, 2, 5), {"algorithm": "winograd"}, r"algorithm='winograd' needs a 3x3 kernel.*got kernel 5x5, stride 1, pad 0"),
    ((1, 2, 3), {"stride": 2, "algorithm": "winograd"}, r"needs a 3x3 kernel, stride 1 .*got kernel 3x3, stride 2"),
    ((np.zeros((2, 1, 3, 3)), np.zeros(2), 1, 3), {"algorithm": "winograd"}, r"pad <= 2.*pad 3"),
])
def test_convolution_refuses_a_bad_algorithm(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Convolution(*args, **kwargs)


def test_winograd_helpers_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"winograd: tile must be one of \[2, 4\], got 3"):
        matrices(3)
    with pytest.raises(ValueError, match=r"winograd.conv2d: needs x \(N, C, H, W\) and W \(FN, C, 3, 3\)"):
        conv2d(np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 5, 5)))


# --- scripts/winograd_error.py ---------------------------------------------------------------

def test_winograd_error_script_measures_every_convolution_of_deep_conv_net(mnist_root, tmp_path, capsys):
    import json

    import winograd_error

    rows = winograd_error.main(["--quick", "--out", str(tmp_path)])
    assert [(r["layer"], r["algorithm"]) for r in rows[:3]] == [
        ("Conv1", "im2col"), ("Conv1", "winograd m=2"), ("Conv1", "winograd m=4")]
    assert len(rows) == 6 * 3 and rows[-1]["shape"] == "64->64 8x8"
    for r in rows:
        bound = 2e-6 if r["algorithm"] == "winograd m=4" else 5e-7
        assert all(0 < r[f"{w}_rel_rms"] < bound for w in ("y", "dx", "dW")), r
    text = capsys.readouterr().out
    assert "20 MNIST test images" in text and "winograd m=4" in text and "rel-RMS" in text
    assert json.loads((tmp_path / "winograd_error.json").read_text())["rows"] == rows


# --- the compiled transforms ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c, h, w, top", [(2, 3, 6, 6, 1), (1, 5, 7, 4, 0), (3, 1, 5, 9, 2), (2, 17, 3, 3, 2)])
def test_compiled_transforms_give_the_bits_of_the_whole_array_ones(dtype, n, c, h, w, top):
    """winograd_kernels' loops against winograd_transforms' additions over views: the padded
    input read as bounds, the output cropped and the bias added in the loop, the output
    gradient's tiles zero beyond its edge."""
    from bprop.layers import winograd_kernels as kernels
    from bprop.layers import winograd_transforms as transforms
    from bprop.layers.im2col import windows

    rng = np.random.default_rng(h * w + top)
    bt, _, at = matrices(2)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    oh, ow = h + 2 * top - 2, w + 2 * top - 2
    th, tw = -(-oh // 2), -(-ow // 2)
    xp = np.zeros((n, 2 * th + 2, 2 * tw + 2, c), dtype)
    xp[:, top:top + h, top:top + w] = x
    expected = np.empty((16, n * th * tw, c), dtype)
    transforms.input_transform(windows(xp, 4, 4, th, tw, 2), bt, expected)
    v = kernels.stack(16, n * th * tw, c, dtype)
    kernels.input_transform(x[:, ::-1][:, ::-1], top, th, tw, v)  # any strides (here a reversed view twice)
    np.testing.assert_array_equal(v, expected)

    m, bias = rng.standard_normal((16, n * th * tw, c)).astype(dtype), rng.standard_normal(c).astype(dtype)
    whole = np.empty((n, 2 * th, 2 * tw, c), dtype)
    transforms.output_transform(m, at, transforms.tiles_of(whole, 2))
    y = np.full((n, oh, ow, c), np.nan, dtype)
    kernels.output_transform(m, bias, y)
    np.testing.assert_array_equal(y, whole[:, :oh, :ow] + bias)

    dy = rng.standard_normal((n, oh, ow, c)).astype(dtype)
    padded = np.zeros((n, 2 * th, 2 * tw, c), dtype)
    padded[:, :oh, :ow] = dy
    expected = np.empty((16, n * th * tw, c), dtype)
    transforms.output_grad_transform(transforms.tiles_of(padded, 2), at, expected)
    dm = kernels.stack(16, n * th * tw, c, dtype)
    kernels.output_grad_transform(dy, dm)
    np.testing.assert_array_equal(dm, expected)


@pytest.mark.parametrize("count, rows, cols, dtype", [(16, 1600, 64, np.float32), (16, 1024, 1, np.float32),
                                                      (4, 3, 5, np.float64), (16, 512, 1, np.float64)])
def test_stack_keeps_its_matrices_contiguous_and_off_4k_strides(count, rows, cols, dtype):
    from bprop.layers.winograd_kernels import stack

    a = stack(count, rows, cols, dtype)
    assert a.shape == (count, rows, cols) and a.dtype == dtype and a[0].flags.c_contiguous
    assert a.strides[0] % 4096 != 0 and a.strides[0] % 64 == 0 and a.strides[0] >= rows * cols * a.itemsize


@pytest.mark.parametrize("pad", [0, 1])
def test_a_float32_input_to_a_float64_layer_is_transformed_in_float64(pad):
    """The tiles are cast to the layer's dtype before any addition, as if the input were float64."""
    rng = np.random.default_rng(11)
    x, dout_shape = rng.standard_normal((2, 3, 7, 6)).astype(np.float32), (2, 4, 5 + 2 * pad, 4 + 2 * pad)
    layer = Convolution(rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4), pad=pad, algorithm="winograd")
    wide = Convolution(layer.W, layer.b, pad=pad, algorithm="winograd")
    dout = rng.standard_normal(dout_shape).astype(np.float32)
    np.testing.assert_array_equal(layer.forward(x), wide.forward(x.astype(np.float64)))
    np.testing.assert_array_equal(layer.backward(dout), wide.backward(dout.astype(np.float64)))
    np.testing.assert_array_equal(layer.dW, wide.dW)
