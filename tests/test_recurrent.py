"""The one-step cells RNN, LSTM, GRU: hand values, numerical gradients, construction."""

import math

import numpy as np
import pytest

from bprop.layers import GRU, LSTM, RNN, BackwardBeforeForwardError
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def random_cell(cls, d, h, rng, dtype=np.float64):
    """A cell with every parameter random, biases included (zeros hide mistakes)."""
    cell = cls(d, h, rng=rng, dtype=dtype)
    for name in cell.param_names:
        getattr(cell, name)[...] = rng.standard_normal(getattr(cell, name).shape)
    return cell


def n_states(cell):
    return 2 if isinstance(cell, LSTM) else 1


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def check_cell_gradient(cell, x, states, rng):
    """Analytic and numerical gradients of ``sum(outputs * douts)`` for x, the states, the params."""
    outs = as_tuple(cell.forward(x, *states))
    douts = [rng.standard_normal(o.shape) for o in outs]
    grads_in = cell.backward(*douts)
    names = ["x", "h_prev", "c_prev"][: 1 + len(states)]
    analytic = dict(zip(names, grads_in))
    analytic.update({k: v.copy() for k, v in cell.grads().items()})

    def f():
        return sum(float(np.sum(o * d)) for o, d in zip(as_tuple(cell.forward(x, *states)), douts))

    numeric = {name: numerical_gradient(f, a, 1e-6) for name, a in zip(names, [x, *states])}
    numeric.update({k: numerical_gradient(f, p, 1e-6) for k, p in cell.params().items()})
    return analytic, numeric


# ---------------------------------------------------------------- hand values


def test_rnn_forward_and_backward_hand_values():
    cell = RNN(np.array([[2.0]]), np.array([[0.5]]), np.array([-1.0]))
    h = cell.forward(np.array([[1.0]]), np.array([[2.0]]))
    np.testing.assert_allclose(h, [[math.tanh(2.0)]], rtol=1e-15)
    dx, dh_prev = cell.backward(np.array([[1.0]]))
    da = 1.0 - math.tanh(2.0) ** 2
    np.testing.assert_allclose(dx, [[2.0 * da]], rtol=1e-14)
    np.testing.assert_allclose(dh_prev, [[0.5 * da]], rtol=1e-14)
    np.testing.assert_allclose(cell.dWx, [[da]], rtol=1e-14)
    np.testing.assert_allclose(cell.dWh, [[2.0 * da]], rtol=1e-14)
    np.testing.assert_allclose(cell.db, [da], rtol=1e-14)


def test_lstm_forward_hand_values_in_gate_order_i_f_g_o():
    cell = LSTM(np.array([[0.1, 0.2, 0.3, 0.4]]), np.zeros((1, 4)), np.zeros(4))
    h, c = cell.forward(np.array([[1.0]]), np.zeros((1, 1)), np.array([[0.5]]))
    i, f, g, o = sig(0.1), sig(0.2), math.tanh(0.3), sig(0.4)
    c_want = f * 0.5 + i * g
    np.testing.assert_allclose(c, [[c_want]], rtol=1e-14)
    np.testing.assert_allclose(h, [[o * math.tanh(c_want)]], rtol=1e-14)


def test_lstm_hidden_weights_act_on_h_prev():
    cell = LSTM(np.zeros((1, 4)), np.array([[1.0, -1.0, 2.0, 0.5]]), np.array([0.0, 0.0, 0.0, 0.25]))
    h, c = cell.forward(np.zeros((1, 1)), np.array([[0.3]]))  # c_prev defaults to zeros
    i, g, o = sig(0.3), math.tanh(0.6), sig(0.15 + 0.25)
    np.testing.assert_allclose(c, [[i * g]], rtol=1e-14)
    np.testing.assert_allclose(h, [[o * math.tanh(i * g)]], rtol=1e-14)


def test_gru_forward_hand_values_with_hidden_bias_inside_the_reset_product():
    cell = GRU(np.array([[0.1, 0.2, 0.3]]), np.array([[0.4, 0.5, 0.6]]), np.zeros(3), np.array([0.7]))
    h = cell.forward(np.array([[1.0]]), np.array([[0.5]]))
    r = sig(0.1 + 0.2)
    z = sig(0.2 + 0.25)
    n = math.tanh(0.3 + r * (0.3 + 0.7))
    np.testing.assert_allclose(h, [[(1 - z) * n + z * 0.5]], rtol=1e-14)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("n, d, h", [(1, 1, 1), (2, 3, 4), (4, 2, 3), (3, 5, 2)])
def test_cell_backward_matches_numerical(kind, n, d, h):
    rng = np.random.default_rng(n * 100 + d * 10 + h)
    cell = random_cell(CELLS[kind], d, h, rng)
    x = rng.standard_normal((n, d))
    states = [rng.standard_normal((n, h)) for _ in range(n_states(cell))]
    analytic, numeric = check_cell_gradient(cell, x, states, rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_backward_matches_numerical_for_saturated_gates(kind):
    rng = np.random.default_rng(7)
    cell = random_cell(CELLS[kind], 3, 2, rng)
    cell.Wx *= 4.0
    x = 2.0 * rng.standard_normal((2, 3))
    states = [rng.standard_normal((2, 2)) for _ in range(n_states(cell))]
    assert_gradients_close(*check_cell_gradient(cell, x, states, rng))


def test_lstm_backward_without_dc_takes_zero():
    rng = np.random.default_rng(3)
    cell = random_cell(LSTM, 2, 3, rng)
    x, h0, c0 = rng.standard_normal((2, 2)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    cell.forward(x, h0, c0)
    dh = rng.standard_normal((2, 3))
    a = cell.backward(dh)
    b = cell.backward(dh, np.zeros((2, 3)))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_backward_leaves_dout_and_cache_unchanged(kind):
    rng = np.random.default_rng(4)
    cell = random_cell(CELLS[kind], 3, 2, rng)
    x = rng.standard_normal((2, 3))
    outs = as_tuple(cell.forward(x))
    kept = [o.copy() for o in outs]
    douts = [rng.standard_normal(o.shape) for o in outs]
    before = [d.copy() for d in douts]
    first = cell.backward(*douts)
    second = cell.backward(*douts)
    for d, b in zip(douts, before):
        np.testing.assert_array_equal(d, b)
    for o, k in zip(outs, kept):
        np.testing.assert_array_equal(o, k)
    for u, v in zip(first, second):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_float32_stays_float32(kind):
    rng = np.random.default_rng(5)
    cell = random_cell(CELLS[kind], 3, 4, rng, dtype=np.float32)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    outs = as_tuple(cell.forward(x))
    grads_in = cell.backward(*[np.ones_like(o) for o in outs])
    dtypes = {a.dtype for a in (*outs, *grads_in, *cell.grads().values())}
    assert dtypes == {np.dtype(np.float32)}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_writes_gradients_into_bound_buffers(kind):
    rng = np.random.default_rng(6)
    cell = random_cell(CELLS[kind], 3, 2, rng)
    buffers = {k: np.zeros_like(p) for k, p in cell.params().items()}
    cell.bind_grad_buffers(buffers)
    states = [rng.standard_normal((2, 2)) for _ in range(n_states(cell))]
    outs = as_tuple(cell.forward(rng.standard_normal((2, 3)), *states))
    cell.backward(*[np.ones_like(o) for o in outs])
    for k, buf in buffers.items():
        assert getattr(cell, "d" + k) is buf
        assert np.any(buf != 0)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_reads_parameters_bound_after_construction(kind):
    rng = np.random.default_rng(8)
    cell = random_cell(CELLS[kind], 3, 2, rng)
    x = rng.standard_normal((2, 3))
    want = as_tuple(cell.forward(x))
    arrays = {k: np.empty_like(p) for k, p in cell.params().items()}
    cell.bind_params(arrays)
    for k in arrays:
        assert getattr(cell, k) is arrays[k]
    got = as_tuple(cell.forward(x))
    for u, v in zip(want, got):
        np.testing.assert_array_equal(u, v)
    arrays["Wx"][...] = 0.0  # the cell must see a change made through the network's buffer
    changed = as_tuple(cell.forward(x))
    assert not np.array_equal(changed[0], want[0])


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize("kind, k", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_cell_from_sizes_shapes_scale_and_determinism(kind, k):
    cell = CELLS[kind](300, 200, rng=0)
    assert cell.Wx.shape == (300, k * 200) and cell.Wh.shape == (200, k * 200) and cell.b.shape == (k * 200,)
    assert (cell.input_size, cell.hidden_size) == (300, 200)
    np.testing.assert_array_equal(cell.b, 0)
    assert abs(cell.Wx.std() * np.sqrt(300) - 1) < 0.02  # xavier: 1/sqrt(fan_in) per matrix
    assert abs(cell.Wh.std() * np.sqrt(200) - 1) < 0.02
    np.testing.assert_array_equal(cell.Wx, CELLS[kind](300, 200, rng=0).Wx)
    assert CELLS[kind](3, 2, dtype=np.float32).Wh.dtype == np.float32


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_reset_parameters_redraws_in_place_and_zeroes_biases(kind):
    rng = np.random.default_rng(9)
    cell = random_cell(CELLS[kind], 400, 100, rng)
    Wx = cell.Wx
    cell.reset_parameters("he", np.random.default_rng(0))
    assert cell.Wx is Wx
    assert abs(cell.Wx.std() * np.sqrt(400 / 2) - 1) < 0.03
    assert abs(cell.Wh.std() * np.sqrt(100 / 2) - 1) < 0.03
    for name in cell.param_names:
        if name not in ("Wx", "Wh"):
            np.testing.assert_array_equal(getattr(cell, name), 0)


def test_gru_has_separate_hidden_bias_parameter():
    cell = GRU(3, 2, rng=0)
    assert cell.param_names == ("Wx", "Wh", "b", "bhn")
    assert cell.decay_names == ("Wx", "Wh")
    np.testing.assert_array_equal(cell.bhn, [0.0, 0.0])


def test_cells_decay_only_their_weights():
    for cls in (RNN, LSTM):
        assert cls.param_names == ("Wx", "Wh", "b") and cls.decay_names == ("Wx", "Wh")


def test_lstm_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match=r"LSTM: Wh must have shape \(H, 4H\).*got \(3, 6\)"):
        LSTM(np.zeros((2, 6)), np.zeros((3, 6)), np.zeros(6))
    with pytest.raises(ValueError, match=r"LSTM: Wx must have shape \(D, 12\) to match Wh \(3, 12\), got \(2, 8\)"):
        LSTM(np.zeros((2, 8)), np.zeros((3, 12)), np.zeros(12))
    with pytest.raises(ValueError, match=r"LSTM: b must have shape \(12,\)"):
        LSTM(np.zeros((2, 12)), np.zeros((3, 12)), np.zeros(3))
    with pytest.raises(ValueError, match="LSTM: Wx, Wh and b must share a dtype"):
        LSTM(np.zeros((2, 12)), np.zeros((3, 12), np.float32), np.zeros(12))
    with pytest.raises(ValueError, match="LSTM: give Wx, Wh and b arrays"):
        LSTM(np.zeros((2, 12)), np.zeros((3, 12)))
    with pytest.raises(ValueError, match="LSTM: hidden_size must be an integer >= 1, got 0"):
        LSTM(3, 0)
    with pytest.raises(ValueError, match="LSTM: built from sizes"):
        LSTM(3, 2, np.zeros(8))
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        LSTM(np.zeros((2, 4), int), np.zeros((1, 4), int), np.zeros(4, int))


def test_gru_rejects_hidden_bias_of_wrong_shape():
    with pytest.raises(ValueError, match=r"GRU: bhn must be \(2,\)"):
        GRU(np.zeros((3, 6)), np.zeros((2, 6)), np.zeros(6), np.zeros(3))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_rejects_bad_input_and_state_shapes(kind):
    cell = CELLS[kind](3, 2, rng=0)
    name = type(cell).__name__
    with pytest.raises(ValueError, match=rf"{name}\(3 -> 2\): x must have shape \(N, 3\), got \(4, 5\)"):
        cell.forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=rf"{name}\(3 -> 2\): h_prev must have shape \(4, 2\) for a batch of 4, got \(4, 3\)"):
        cell.forward(np.zeros((4, 3)), np.zeros((4, 3)))
    outs = as_tuple(cell.forward(np.zeros((4, 3))))
    with pytest.raises(ValueError, match=rf"{name}.backward: dout has shape \(4, 3\), expected \(4, 2\)"):
        cell.backward(np.zeros((4, 3)), *[np.zeros_like(o) for o in outs[1:]])


def test_cell_called_like_a_network_layer_points_to_the_time_layer():
    with pytest.raises(ValueError, match=r"LSTM\(3 -> 2\): a cell's forward takes \(x, h_prev, c_prev\), "
                                         r"got h_prev=True; over sequences in a network use TimeLSTM"):
        LSTM(3, 2).forward(np.zeros((1, 3)), True)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_backward_before_forward_raises(kind):
    with pytest.raises(BackwardBeforeForwardError):
        CELLS[kind](3, 2).backward(np.zeros((1, 2)))


def test_cell_repr_and_output_shape():
    assert repr(LSTM(10, 20)) == "LSTM(10 -> 20)"
    assert repr(GRU(3, 4)) == "GRU(3 -> 4)"
    assert RNN(5, 7).output_shape((5,)) == (7,)
    with pytest.raises(ValueError, match=r"RNN\(5 -> 7\): expects \(5,\) per sample, got \(4,\)"):
        RNN(5, 7).output_shape((4,))
