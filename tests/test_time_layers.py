"""Layers over sequences (N, T, ...): TimeRNN, TimeLSTM, TimeGRU, TimeAffine, TimeDropout, TimeSoftmaxWithLoss."""

import math

import numpy as np
import pytest

from bprop.layers import (
    GRU,
    LSTM,
    RNN,
    BackwardBeforeForwardError,
    SoftmaxWithLoss,
    TimeAffine,
    TimeDropout,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSoftmaxWithLoss,
)
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient, numerical_gradient

TIME = {"rnn": TimeRNN, "lstm": TimeLSTM, "gru": TimeGRU}
CELL = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (3, 5, 2, 3), (4, 2, 3, 2), (1, 7, 2, 2)]  # (N, T, D, H)


def random_layer(kind, d, h, rng, dtype=np.float64, **kwargs):
    """A Time layer with every parameter random, biases included."""
    layer = TIME[kind](d, h, rng=rng, dtype=dtype, **kwargs)
    for name in layer.param_names:
        getattr(layer, name)[...] = rng.standard_normal(getattr(layer, name).shape)
    layer.Wx *= 0.5
    layer.Wh *= 0.5
    return layer


def initial_states(kind, n, h, rng):
    return [rng.standard_normal((n, h)) for _ in TIME[kind].state_names]


# ---------------------------------------------------------------- hand values


def test_time_rnn_forward_hand_values():
    layer = TimeRNN(np.array([[2.0]]), np.array([[0.5]]), np.array([-1.0]))
    hs = layer.forward(np.array([[[1.0], [0.0]]]))
    h1 = math.tanh(2.0 - 1.0)
    h2 = math.tanh(0.5 * h1 - 1.0)
    np.testing.assert_allclose(hs, [[[h1], [h2]]], rtol=1e-15)
    np.testing.assert_allclose(layer.h, [[h2]], rtol=1e-15)


def test_time_rnn_backward_hand_values_through_two_steps():
    layer = TimeRNN(np.array([[2.0]]), np.array([[0.5]]), np.array([-1.0]))
    layer.forward(np.array([[[1.0], [0.0]]]))
    h1 = math.tanh(1.0)
    h2 = math.tanh(0.5 * h1 - 1.0)
    dx = layer.backward(np.array([[[0.0], [1.0]]]))  # only the last output counts
    da2 = 1 - h2 ** 2
    da1 = 0.5 * da2 * (1 - h1 ** 2)
    np.testing.assert_allclose(dx, [[[2.0 * da1], [2.0 * da2]]], rtol=1e-14)
    np.testing.assert_allclose(layer.dWh, [[h1 * da2]], rtol=1e-14)  # h0 = 0 adds nothing
    np.testing.assert_allclose(layer.db, [da1 + da2], rtol=1e-14)
    np.testing.assert_allclose(layer.dh0, [[0.5 * da1]], rtol=1e-14)


def test_time_lstm_forward_hand_values_two_steps():
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    layer = TimeLSTM(np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([[0.5, 0.6, 0.7, 0.8]]), np.zeros(4))
    hs = layer.forward(np.array([[[1.0], [-1.0]]]))
    h, c = 0.0, 0.0
    want = []
    for x in (1.0, -1.0):
        i, f = sig(0.1 * x + 0.5 * h), sig(0.2 * x + 0.6 * h)
        g, o = math.tanh(0.3 * x + 0.7 * h), sig(0.4 * x + 0.8 * h)
        c = f * c + i * g
        h = o * math.tanh(c)
        want.append(h)
    np.testing.assert_allclose(hs[0, :, 0], want, rtol=1e-14)
    np.testing.assert_allclose(layer.c, [[c]], rtol=1e-14)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("kind", sorted(TIME))
@pytest.mark.parametrize("n, t, d, h", SHAPES)
def test_time_recurrent_backward_matches_numerical(kind, n, t, d, h):
    rng = np.random.default_rng(n + 10 * t + 100 * d + 1000 * h)
    layer = random_layer(kind, d, h, rng)
    x = rng.standard_normal((n, t, d))
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert analytic["x"].shape == x.shape
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("kind", sorted(TIME))
@pytest.mark.parametrize("n, t, d, h", SHAPES[1:4])
def test_stateful_time_recurrent_backward_matches_numerical_from_a_carried_state(kind, n, t, d, h):
    rng = np.random.default_rng(7 + n + 10 * t)
    layer = random_layer(kind, d, h, rng, stateful=True)
    layer.forward(rng.standard_normal((n, 3, d)))  # leaves a non-zero state to carry
    assert np.any(layer.h != 0)
    x = rng.standard_normal((n, t, d))
    analytic, numeric = check_layer_gradient(layer, x, rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("kind", sorted(TIME))
@pytest.mark.parametrize("stateful", [False, True])
def test_gradient_of_the_initial_state_matches_numerical(kind, stateful):
    rng = np.random.default_rng(11)
    n, t, d, h = 3, 4, 2, 3
    layer = random_layer(kind, d, h, rng, stateful=stateful)
    x = rng.standard_normal((n, t, d))
    states = initial_states(kind, n, h, rng)
    dout = rng.standard_normal((n, t, h))
    layer.set_initial_state(*states)
    layer.forward(x)
    layer.backward(dout)
    analytic = {name: getattr(layer, f"d{name}0") for name in layer.state_names}

    def f():
        layer.set_initial_state(*states)
        return float(np.sum(layer.forward(x) * dout))

    numeric = {name: numerical_gradient(f, s, 1e-6) for name, s in zip(layer.state_names, states)}
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("n, t, d, h", SHAPES[:4])
def test_time_lstm_backward_with_the_final_cell_state_gradient_matches_numerical(n, t, d, h):
    # L = sum(hs * dhs) + sum(c_T * dc): what an encoder whose (h, c) go to a decoder sees
    rng = np.random.default_rng(21 + n + 10 * t)
    layer = random_layer("lstm", d, h, rng)
    x = rng.standard_normal((n, t, d))
    h0, c0 = initial_states("lstm", n, h, rng)
    dhs, dc = rng.standard_normal((n, t, h)), rng.standard_normal((n, h))
    layer.set_initial_state(h0, c0)
    layer.forward(x)
    dc_before = dc.copy()
    analytic = {"x": layer.backward(dhs, dc=dc), "h0": layer.dh0, "c0": layer.dc0}
    analytic.update({k: v.copy() for k, v in layer.grads().items()})
    np.testing.assert_array_equal(dc, dc_before)  # not written into

    def f():
        layer.set_initial_state(h0, c0)
        hs = layer.forward(x)
        return float(np.sum(hs * dhs) + np.sum(layer.c * dc))

    numeric = {"x": numerical_gradient(f, x, 1e-6), "h0": numerical_gradient(f, h0, 1e-6),
               "c0": numerical_gradient(f, c0, 1e-6)}
    numeric.update({k: numerical_gradient(f, p, 1e-6) for k, p in layer.params().items()})
    assert_gradients_close(analytic, numeric)


def test_time_lstm_backward_dc_none_is_zero_and_a_wrong_shape_is_refused():
    rng = np.random.default_rng(22)
    layer = random_layer("lstm", 2, 3, rng)
    x, dhs = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 3))
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(dhs), layer.backward(dhs, dc=np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"dc must have the shape of the final cell state \(2, 3\), got \(3, 2\)"):
        layer.backward(dhs, dc=np.zeros((3, 2)))


@pytest.mark.parametrize("kind", sorted(TIME))
def test_time_layer_equals_its_cell_run_step_by_step(kind):
    rng = np.random.default_rng(12)
    n, t, d, h = 2, 4, 3, 2
    layer = random_layer(kind, d, h, rng)
    cell = CELL[kind](*[getattr(layer, p).copy() for p in layer.param_names])
    x = rng.standard_normal((n, t, d))
    dhs = rng.standard_normal((n, t, h))
    hs = layer.forward(x)
    dx = layer.backward(dhs)
    # the cell, unrolled by hand, with the parameter gradients summed over the steps
    states = [np.zeros((n, h)) for _ in layer.state_names]
    caches, outs = [], []
    for s in range(t):
        states = list(cell.forward(x[:, s], *states)) if kind == "lstm" else [cell.forward(x[:, s], *states)]
        outs.append(states[0])
        caches.append(cell._cache)
    np.testing.assert_allclose(hs, np.stack(outs, axis=1), rtol=1e-13, atol=1e-14)
    grads = {p: 0.0 for p in layer.param_names}
    dstate = [np.zeros((n, h)) for _ in layer.state_names]
    dx_cell = np.empty_like(x)
    for s in reversed(range(t)):
        cell._cache = caches[s]
        dstate[0] = dstate[0] + dhs[:, s]
        dx_cell[:, s], *dstate = cell.backward(*dstate)
        for p in grads:
            grads[p] = grads[p] + getattr(cell, "d" + p)
    np.testing.assert_allclose(dx, dx_cell, rtol=1e-12, atol=1e-13)
    for p in grads:
        np.testing.assert_allclose(getattr(layer, "d" + p), grads[p], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(layer.dh0, dstate[0], rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------- carried state


@pytest.mark.parametrize("kind", sorted(TIME))
def test_stateful_layer_over_two_windows_equals_one_pass(kind):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 7, 3))
    whole = random_layer(kind, 3, 4, rng)
    parts = TIME[kind](*[getattr(whole, p).copy() for p in whole.param_names], stateful=True)
    want = whole.forward(x)
    got = np.concatenate([parts.forward(x[:, :3]), parts.forward(x[:, 3:])], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    for name in whole.state_names:
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-13)


@pytest.mark.parametrize("kind", sorted(TIME))
def test_non_stateful_layer_starts_every_call_from_zeros(kind):
    rng = np.random.default_rng(14)
    layer = random_layer(kind, 3, 4, rng)
    x = rng.standard_normal((2, 5, 3))
    first = layer.forward(x)
    np.testing.assert_array_equal(layer.forward(x), first)


@pytest.mark.parametrize("kind", sorted(TIME))
def test_reset_state_starts_a_stateful_layer_from_zeros(kind):
    rng = np.random.default_rng(15)
    layer = random_layer(kind, 3, 4, rng, stateful=True)
    x = rng.standard_normal((2, 5, 3))
    first = layer.forward(x)
    assert not np.allclose(layer.forward(x), first)
    layer.reset_state()
    assert layer.h is None
    np.testing.assert_array_equal(layer.forward(x), first)


@pytest.mark.parametrize("kind", sorted(TIME))
def test_set_initial_state_applies_to_the_next_call_of_a_non_stateful_layer(kind):
    rng = np.random.default_rng(16)
    layer = random_layer(kind, 3, 4, rng)
    x = rng.standard_normal((2, 5, 3))
    from_zeros = layer.forward(x)
    layer.set_initial_state(*initial_states(kind, 2, 4, rng))
    assert not np.allclose(layer.forward(x), from_zeros)
    np.testing.assert_array_equal(layer.forward(x), from_zeros)


def test_lstm_initial_state_without_c_starts_the_cell_from_zeros():
    rng = np.random.default_rng(17)
    layer = random_layer("lstm", 3, 4, rng)
    x = rng.standard_normal((2, 5, 3))
    h0 = rng.standard_normal((2, 4))
    layer.set_initial_state(h0)
    a = layer.forward(x)
    layer.set_initial_state(h0, np.zeros((2, 4)))
    np.testing.assert_array_equal(layer.forward(x), a)


@pytest.mark.parametrize("kind", sorted(TIME))
def test_state_and_set_state_restore_the_carried_state(kind):
    rng = np.random.default_rng(18)
    layer = random_layer(kind, 3, 4, rng, stateful=True)
    x = rng.standard_normal((2, 5, 3))
    layer.forward(x)
    saved = layer.state()
    a = layer.forward(x)
    layer.forward(x)
    layer.set_state(saved)
    np.testing.assert_array_equal(layer.forward(x), a)


def test_carried_state_with_another_batch_size_says_to_reset():
    layer = TimeLSTM(3, 4, stateful=True, rng=0)
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"TimeLSTM\(3 -> 4, stateful=True\): the state h carried .* batch of 2, "
                                         r"the input has 3 sequences; call reset_state\(\)"):
        layer.forward(np.zeros((3, 5, 3)))
    layer.reset_state()
    assert layer.forward(np.zeros((3, 5, 3))).shape == (3, 5, 4)


def test_set_initial_state_rejects_bad_shapes_and_c_for_a_gru():
    layer = TimeLSTM(3, 4)
    with pytest.raises(ValueError, match=r"TimeLSTM\(3 -> 4\): h must have shape \(N, 4\), got \(2, 3\)"):
        layer.set_initial_state(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"c must have shape \(2, 4\) like h, got \(3, 4\)"):
        layer.set_initial_state(np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"TimeGRU\(3 -> 4\): has no cell state c"):
        TimeGRU(3, 4).set_initial_state(np.zeros((2, 4)), np.zeros((2, 4)))


# ---------------------------------------------------------------- dtypes, buffers, contract


@pytest.mark.parametrize("kind", sorted(TIME))
def test_time_recurrent_float32_stays_float32_even_with_a_float64_initial_state(kind):
    rng = np.random.default_rng(19)
    layer = random_layer(kind, 3, 4, rng, dtype=np.float32)
    layer.set_initial_state(*initial_states(kind, 2, 4, rng))  # float64 arrays
    hs = layer.forward(rng.standard_normal((2, 5, 3)).astype(np.float32))
    dx = layer.backward(np.ones_like(hs))
    arrays = [hs, dx, layer.dh0, *layer.grads().values(), layer.h]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}


@pytest.mark.parametrize("kind", sorted(TIME))
def test_time_recurrent_writes_gradients_into_bound_buffers_and_reads_bound_params(kind):
    rng = np.random.default_rng(20)
    layer = random_layer(kind, 3, 4, rng)
    x = rng.standard_normal((2, 5, 3))
    dhs = rng.standard_normal((2, 5, 4))
    layer.forward(x)
    layer.backward(dhs)
    want = {k: v.copy() for k, v in layer.grads().items()}
    params = {k: np.empty_like(p) for k, p in layer.params().items()}
    layer.bind_params(params)
    buffers = {k: np.full_like(p, 99.0) for k, p in layer.params().items()}
    layer.bind_grad_buffers(buffers)
    layer.forward(x)
    layer.backward(dhs)
    for k, buf in buffers.items():
        assert getattr(layer, "d" + k) is buf
        np.testing.assert_allclose(buf, want[k], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kind", sorted(TIME))
def test_time_recurrent_backward_leaves_dout_and_output_unchanged(kind):
    rng = np.random.default_rng(21)
    layer = random_layer(kind, 3, 4, rng)
    hs = layer.forward(rng.standard_normal((2, 5, 3)))
    kept = hs.copy()
    dhs = rng.standard_normal(hs.shape)
    before = dhs.copy()
    dx1 = layer.backward(dhs)
    dx2 = layer.backward(dhs)
    np.testing.assert_array_equal(dhs, before)
    np.testing.assert_array_equal(hs, kept)
    np.testing.assert_array_equal(dx1, dx2)


@pytest.mark.parametrize("kind", sorted(TIME))
def test_time_recurrent_without_input_grad_returns_none(kind):
    rng = np.random.default_rng(22)
    layer = random_layer(kind, 3, 4, rng, input_grad=False)
    hs = layer.forward(rng.standard_normal((2, 5, 3)))
    assert layer.backward(np.ones_like(hs)) is None
    assert layer.dWx.shape == layer.Wx.shape


@pytest.mark.parametrize("kind", sorted(TIME))
def test_time_recurrent_rejects_bad_input_and_dout(kind):
    layer = TIME[kind](3, 4, rng=0)
    name = type(layer).__name__
    with pytest.raises(ValueError, match=rf"{name}\(3 -> 4\): input must be a non-empty batch of sequences "
                                         r"\(N, T, 3\), got shape \(2, 5\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"got shape \(2, 5, 2\)"):
        layer.forward(np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match=r"got shape \(2, 0, 3\)"):
        layer.forward(np.zeros((2, 0, 3)))
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.zeros((2, 5, 4)))
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=rf"{name}.backward: dout has shape \(2, 4, 4\), expected \(2, 5, 4\)"):
        layer.backward(np.zeros((2, 4, 4)))


def test_time_recurrent_layers_are_named_after_their_cell_in_a_network():
    assert [cls.stem() for cls in (TimeRNN, TimeLSTM, TimeGRU)] == ["RNN", "LSTM", "GRU"]
    assert [cls.stem() for cls in (TimeAffine, TimeDropout)] == ["TimeAffine", "TimeDropout"]


def test_time_recurrent_output_shape_and_repr():
    layer = TimeLSTM(16, 32, stateful=True)
    assert layer.output_shape((35, 16)) == (35, 32)
    assert repr(layer) == "TimeLSTM(16 -> 32, stateful=True)"
    assert repr(TimeGRU(3, 4)) == "TimeGRU(3 -> 4)"
    with pytest.raises(ValueError, match=r"TimeLSTM\(16 -> 32, stateful=True\): expects \(T, 16\) per sample, "
                                         r"got input shape \(35, 8\)"):
        layer.output_shape((35, 8))


# ---------------------------------------------------------------- TimeAffine


def test_time_affine_hand_values():
    layer = TimeAffine(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
    y = layer.forward(np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]))
    np.testing.assert_array_equal(y, [[[1.5, 1.5], [3.5, 3.5], [4.5, 5.5]]])


@pytest.mark.parametrize("n, t, d, m", [(1, 1, 1, 1), (2, 3, 4, 5), (3, 2, 3, 2)])
def test_time_affine_backward_matches_numerical(n, t, d, m):
    rng = np.random.default_rng(n + t + d + m)
    layer = TimeAffine(rng.standard_normal((d, m)), rng.standard_normal(m))
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((n, t, d)), rng=rng)
    assert analytic["x"].shape == (n, t, d)
    assert_gradients_close(analytic, numeric)


def test_time_affine_from_sizes_shape_checks_and_input_grad():
    layer = TimeAffine(4, 6, rng=0, dtype=np.float32)
    assert repr(layer) == "TimeAffine(4 -> 6)"
    assert layer.output_shape((10, 4)) == (10, 6)
    with pytest.raises(ValueError, match=r"TimeAffine\(4 -> 6\): expects \(T, 4\) per sample"):
        layer.output_shape((40,))
    with pytest.raises(ValueError, match=r"TimeAffine\(4 -> 6\): input must be a non-empty batch of sequences "
                                         r"\(N, T, 4\), got shape \(2, 4\)"):
        layer.forward(np.zeros((2, 4), np.float32))
    y = layer.forward(np.ones((2, 3, 4), np.float32))
    assert y.dtype == np.float32 and y.shape == (2, 3, 6)
    layer.input_grad = False
    assert layer.backward(np.ones_like(y)) is None
    assert layer.dW.shape == (4, 6)


# ---------------------------------------------------------------- TimeDropout


def test_time_dropout_masks_elements_in_training_and_is_identity_in_evaluation():
    rng = np.random.default_rng(23)
    layer = TimeDropout(0.5, rng=0)
    x = rng.standard_normal((20, 10, 8))
    y = layer.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2.0 * x[kept])
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), 2.0 * kept)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)


def test_time_dropout_backward_matches_numerical():
    rng = np.random.default_rng(24)
    assert_gradients_close(*check_layer_gradient(TimeDropout(0.3, rng=1), rng.standard_normal((2, 3, 4)), rng=rng))


def test_time_dropout_rejects_non_sequences():
    with pytest.raises(ValueError, match=r"TimeDropout\(ratio=0.5\): input must be a non-empty batch of sequences"):
        TimeDropout().forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expects \(T, D\) per sample"):
        TimeDropout().output_shape((3,))


# ---------------------------------------------------------------- TimeSoftmaxWithLoss


def test_time_softmax_loss_hand_values_for_uniform_scores():
    layer = TimeSoftmaxWithLoss()
    loss = layer.forward(np.zeros((2, 3, 4)), np.array([[0, 1, 2], [3, 0, 1]]))
    assert loss == pytest.approx(math.log(4), rel=1e-15)
    dx = layer.backward()
    want = np.full((2, 3, 4), 0.25)
    want[[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 0, 1]] -= 1.0
    np.testing.assert_allclose(dx, want / 6, rtol=1e-15)


def test_time_softmax_loss_equals_softmax_with_loss_on_the_flattened_positions():
    rng = np.random.default_rng(25)
    x = rng.standard_normal((3, 4, 5))
    t = rng.integers(0, 5, size=(3, 4))
    flat = SoftmaxWithLoss()
    layer = TimeSoftmaxWithLoss()
    assert layer.forward(x, t) == pytest.approx(flat.forward(x.reshape(12, 5), t.reshape(12)), rel=1e-14)
    np.testing.assert_allclose(layer.backward(), flat.backward().reshape(3, 4, 5), rtol=1e-14)


def test_time_softmax_loss_ignores_padded_positions():
    rng = np.random.default_rng(26)
    x = rng.standard_normal((2, 4, 5))
    t = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])  # 0 is padding
    layer = TimeSoftmaxWithLoss(ignore_label=0)
    loss = layer.forward(x, t)
    keep = t != 0
    flat = SoftmaxWithLoss()
    assert loss == pytest.approx(flat.forward(x[keep], t[keep]), rel=1e-14)
    assert layer.count == 3
    dx = layer.backward(2.0)
    np.testing.assert_array_equal(dx[~keep], 0.0)
    np.testing.assert_allclose(dx[keep], flat.backward(2.0), rtol=1e-14)


@pytest.mark.parametrize("ignore_label", [None, -1, 2])
def test_time_softmax_loss_backward_matches_numerical(ignore_label):
    rng = np.random.default_rng(27)
    x = rng.standard_normal((3, 4, 5))
    t = rng.integers(0, 5, size=(3, 4))
    t[0, 1] = -1 if ignore_label == -1 else t[0, 1]
    layer = TimeSoftmaxWithLoss(ignore_label=ignore_label)
    layer.forward(x, t)
    dx = layer.backward()
    num = numerical_gradient(lambda: layer.forward(x, t), x, 1e-6)
    assert_gradients_close({"x": dx}, {"x": num})


def test_time_softmax_loss_all_positions_ignored_gives_zero():
    layer = TimeSoftmaxWithLoss(ignore_label=0)
    assert layer.forward(np.ones((2, 3, 4)), np.zeros((2, 3), int)) == 0.0
    np.testing.assert_array_equal(layer.backward(), np.zeros((2, 3, 4)))


def test_time_softmax_loss_is_finite_for_huge_scores_and_keeps_float32():
    x = np.zeros((1, 2, 3), np.float32)
    x[0, :, 0] = 1000.0
    layer = TimeSoftmaxWithLoss()
    loss = layer.forward(x, np.array([[0, 1]]))
    assert loss == pytest.approx(1000.0 / 2, rel=1e-6)
    assert layer.backward().dtype == np.float32


def test_time_softmax_loss_rejects_bad_labels_and_shapes():
    layer = TimeSoftmaxWithLoss()
    with pytest.raises(ValueError, match=r"TimeSoftmaxWithLoss\(\): label 4 is outside \[0, 4\)"):
        layer.forward(np.zeros((1, 2, 4)), np.array([[0, 4]]))
    with pytest.raises(ValueError, match=r"labels must have shape \(1, 2\) \(N, T\) for scores \(1, 2, 4\), got \(2,\)"):
        layer.forward(np.zeros((1, 2, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="integer class labels expected, got dtype float64"):
        layer.forward(np.zeros((1, 2, 4)), np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="ignore_label must be an integer or None, got 0.5"):
        TimeSoftmaxWithLoss(ignore_label=0.5)
    with pytest.raises(BackwardBeforeForwardError):
        TimeSoftmaxWithLoss().backward()
    assert repr(TimeSoftmaxWithLoss(ignore_label=-1)) == "TimeSoftmaxWithLoss(ignore_label=-1)"
