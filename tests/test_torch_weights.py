"""The PyTorch mapping, checked against PyTorch's documented equations written out directly.

torch is not needed: ``reference_*`` below implement the equations of the ``nn.RNN``,
``nn.LSTM`` and ``nn.GRU`` documentation, gate by gate, on arrays in PyTorch's layout
(``weight_ih (kH, D)`` with the gates as row blocks, two biases).
"""

import numpy as np
import pytest

from bprop.layers import (
    GRU,
    LSTM,
    RNN,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    weights_from_torch,
    weights_to_torch,
)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def blocks(a, k):
    """The k gate blocks of a PyTorch weight (rows) or bias."""
    return np.split(a, k, axis=0)


def reference_rnn(x, p, h):
    """nn.RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh); x (N, T, D)."""
    hs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
        hs.append(h)
    return np.stack(hs, axis=1)


def reference_lstm(x, p, h, c):
    """nn.LSTM:
    i = sigma(W_ii x + b_ii + W_hi h + b_hi), f = sigma(W_if x + b_if + W_hf h + b_hf),
    g = tanh(W_ig x + b_ig + W_hg h + b_hg), o = sigma(W_io x + b_io + W_ho h + b_ho),
    c' = f * c + i * g, h' = o * tanh(c')."""
    W_ii, W_if, W_ig, W_io = blocks(p["weight_ih"], 4)
    W_hi, W_hf, W_hg, W_ho = blocks(p["weight_hh"], 4)
    b_ii, b_if, b_ig, b_io = blocks(p["bias_ih"], 4)
    b_hi, b_hf, b_hg, b_ho = blocks(p["bias_hh"], 4)
    hs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        i = sigmoid(xt @ W_ii.T + b_ii + h @ W_hi.T + b_hi)
        f = sigmoid(xt @ W_if.T + b_if + h @ W_hf.T + b_hf)
        g = np.tanh(xt @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
        o = sigmoid(xt @ W_io.T + b_io + h @ W_ho.T + b_ho)
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), c


def reference_gru(x, p, h):
    """nn.GRU:
    r = sigma(W_ir x + b_ir + W_hr h + b_hr), z = sigma(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h."""
    W_ir, W_iz, W_in = blocks(p["weight_ih"], 3)
    W_hr, W_hz, W_hn = blocks(p["weight_hh"], 3)
    b_ir, b_iz, b_in = blocks(p["bias_ih"], 3)
    b_hr, b_hz, b_hn = blocks(p["bias_hh"], 3)
    hs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = sigmoid(xt @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = sigmoid(xt @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(xt @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, axis=1)


K = {"rnn": 1, "lstm": 4, "gru": 3}
TIME = {"rnn": TimeRNN, "lstm": TimeLSTM, "gru": TimeGRU}
CELL = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def torch_params(kind, d, h, rng, scale=0.5):
    """Random arrays in PyTorch's layout, both biases non-zero."""
    k = K[kind]
    return {
        "weight_ih": scale * rng.standard_normal((k * h, d)),
        "weight_hh": scale * rng.standard_normal((k * h, h)),
        "bias_ih": scale * rng.standard_normal(k * h),
        "bias_hh": scale * rng.standard_normal(k * h),
    }


def reference(kind, x, p, h0, c0=None):
    if kind == "lstm":
        return reference_lstm(x, p, h0, c0)[0]
    return (reference_rnn if kind == "rnn" else reference_gru)(x, p, h0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("n, t, d, h", [(1, 1, 1, 1), (2, 5, 3, 4), (3, 4, 6, 2)])
def test_time_layer_from_torch_matches_pytorch_equations(kind, n, t, d, h):
    rng = np.random.default_rng(n + 10 * t + 100 * d + 1000 * h)
    p = torch_params(kind, d, h, rng)
    layer = TIME[kind].from_torch(p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    x = rng.standard_normal((n, t, d))
    h0 = rng.standard_normal((n, h))
    c0 = rng.standard_normal((n, h)) if kind == "lstm" else None
    layer.set_initial_state(h0, c0)
    np.testing.assert_allclose(layer.forward(x), reference(kind, x, p, h0, c0), rtol=1e-12, atol=1e-13)


def test_time_lstm_final_cell_state_matches_pytorch():
    rng = np.random.default_rng(0)
    p = torch_params("lstm", 3, 4, rng)
    layer = TimeLSTM.from_torch(**p)
    x = rng.standard_normal((2, 6, 3))
    hs = layer.forward(x)
    want_hs, want_c = reference_lstm(x, p, np.zeros((2, 4)), np.zeros((2, 4)))
    np.testing.assert_allclose(hs, want_hs, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(layer.h, want_hs[:, -1], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(layer.c, want_c, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_from_torch_matches_one_step_of_pytorch_equations(kind):
    rng = np.random.default_rng(1)
    p = torch_params(kind, 3, 5, rng)
    cell = CELL[kind].from_torch(**p)
    x = rng.standard_normal((4, 3))
    h0 = rng.standard_normal((4, 5))
    if kind == "lstm":
        c0 = rng.standard_normal((4, 5))
        h, c = cell.forward(x, h0, c0)
        want_h, want_c = reference_lstm(x[:, None], p, h0, c0)
        np.testing.assert_allclose(c, want_c, rtol=1e-12, atol=1e-13)
    else:
        h = cell.forward(x, h0)
        want_h = reference(kind, x[:, None], p, h0)
    np.testing.assert_allclose(h, want_h[:, 0], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_to_torch_gives_arrays_that_pytorch_equations_turn_into_the_same_outputs(kind):
    rng = np.random.default_rng(2)
    layer = TIME[kind](3, 4, rng=rng)
    for name in layer.param_names:  # non-zero biases, bhn included
        getattr(layer, name)[...] = rng.standard_normal(getattr(layer, name).shape)
    x = rng.standard_normal((2, 5, 3))
    p = layer.to_torch()
    assert set(p) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    assert p["weight_ih"].shape == (K[kind] * 4, 3) and p["weight_hh"].shape == (K[kind] * 4, 4)
    zeros = np.zeros((2, 4))
    np.testing.assert_allclose(layer.forward(x), reference(kind, x, p, zeros, zeros), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_bprop_to_torch_to_bprop_gives_back_the_same_arrays(kind):
    rng = np.random.default_rng(3)
    layer = CELL[kind](3, 2, rng=rng)
    for name in layer.param_names:
        getattr(layer, name)[...] = rng.standard_normal(getattr(layer, name).shape)
    back = CELL[kind].from_torch(**layer.to_torch())
    for name in layer.param_names:
        np.testing.assert_array_equal(getattr(back, name), getattr(layer, name))
        assert getattr(back, name).flags.c_contiguous


def test_gru_mapping_keeps_the_n_gate_hidden_bias_apart():
    p = {"weight_ih": np.zeros((6, 1)), "weight_hh": np.zeros((6, 2)),
         "bias_ih": np.arange(6.0), "bias_hh": 10.0 * np.arange(1.0, 7.0)}
    w = weights_from_torch("gru", **p)
    np.testing.assert_array_equal(w["b"], [10, 21, 32, 43, 4, 5])  # r and z sum, n keeps b_in
    np.testing.assert_array_equal(w["bhn"], [50, 60])
    back = weights_to_torch("gru", **w)
    np.testing.assert_array_equal(back["bias_ih"], w["b"])
    np.testing.assert_array_equal(back["bias_hh"], [0, 0, 0, 0, 50, 60])


def test_lstm_mapping_transposes_and_sums_the_biases():
    weight_ih = np.arange(8.0).reshape(4, 2)  # H = 1, D = 2
    w = weights_from_torch("lstm", weight_ih, np.ones((4, 1)), np.ones(4), 2 * np.ones(4))
    np.testing.assert_array_equal(w["Wx"], weight_ih.T)
    np.testing.assert_array_equal(w["b"], [3, 3, 3, 3])
    assert set(w) == {"Wx", "Wh", "b"}


def test_from_torch_without_biases_means_zero_biases():
    rng = np.random.default_rng(4)
    layer = TimeGRU.from_torch(rng.standard_normal((6, 3)), rng.standard_normal((6, 2)))
    np.testing.assert_array_equal(layer.b, 0)
    np.testing.assert_array_equal(layer.bhn, 0)


def test_from_torch_passes_constructor_options_and_keeps_float32():
    rng = np.random.default_rng(5)
    p = {k: v.astype(np.float32) for k, v in torch_params("lstm", 3, 2, rng).items()}
    layer = TimeLSTM.from_torch(**p, stateful=True)
    assert layer.stateful and layer.Wx.dtype == np.float32 and layer.b.dtype == np.float32


def test_to_torch_suffix_names_as_nn_lstm():
    p = TimeLSTM(3, 2).to_torch(suffix="_l0")
    assert sorted(p) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]


def test_mapping_rejects_wrong_shapes_and_kinds():
    with pytest.raises(ValueError, match=r"lstm: weight_hh must have shape \(4\*H, H\)"):
        weights_from_torch("lstm", np.zeros((8, 3)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match=r"gru: weight_ih must have shape \(6, D\)"):
        weights_from_torch("gru", np.zeros((4, 3)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match=r"rnn: bias_hh must have shape \(2,\)"):
        weights_from_torch("rnn", np.zeros((2, 3)), np.zeros((2, 2)), np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="unknown recurrent cell kind 'elman'"):
        weights_from_torch("elman", np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lstm: only a GRU has the separate hidden bias bhn"):
        weights_to_torch("lstm", np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8), bhn=np.zeros(2))
