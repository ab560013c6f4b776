"""TimeBiLSTM: a forward and a reverse TimeLSTM, their outputs side by side."""

import math
from pathlib import Path

import numpy as np
import pytest

from bprop.layers import Affine, BackwardBeforeForwardError, TimeAffine, TimeLSTM
from bprop.layers.bilstm import TimeBiLSTM
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient
from bprop.networks import Sequential

REFERENCE = Path(__file__).parent / "data" / "bilstm_reference.npz"


def random_bilstm(rng, d, h, **kwargs):
    """Both directions with random weights and biases (the default init leaves b = 0)."""
    def lstm():
        return TimeLSTM(rng.standard_normal((d, 4 * h)) * 0.5, rng.standard_normal((h, 4 * h)) * 0.5,
                        rng.standard_normal(4 * h) * 0.5)
    return TimeBiLSTM(lstm(), lstm(), **kwargs)


def test_a_one_unit_bilstm_forward_hand_values():
    # D = H = 1; every gate weight 1 on x, 0 on h, biases 0, so each step sees only its x_t
    # and its own direction's previous state (through c).
    ones = np.ones((1, 4))

    def lstm():
        return TimeLSTM(ones.copy(), np.zeros((1, 4)), np.zeros(4))

    layer = TimeBiLSTM(lstm(), lstm())
    x = np.array([[[1.0], [-2.0]]])  # N = 1, T = 2
    y = layer.forward(x)

    def sig(a):
        return 1.0 / (1.0 + math.exp(-a))

    def step(a, c_prev):  # i = f = o = sigmoid(a), g = tanh(a)
        c = sig(a) * c_prev + sig(a) * math.tanh(a)
        return sig(a) * math.tanh(c), c

    hf1, cf1 = step(1.0, 0.0)
    hf2, _ = step(-2.0, cf1)
    hr2, cr2 = step(-2.0, 0.0)   # the reverse direction starts at the last step
    hr1, _ = step(1.0, cr2)
    np.testing.assert_allclose(y, [[[hf1, hr1], [hf2, hr2]]], rtol=1e-15)


def test_the_reverse_half_is_a_time_lstm_on_the_reversed_sequence_and_the_forward_half_a_plain_one():
    rng = np.random.default_rng(0)
    layer = random_bilstm(rng, 3, 4)
    x = rng.standard_normal((2, 6, 3))
    y = layer.forward(x)
    h = 4
    fwd = TimeLSTM(layer.forward_lstm.Wx.copy(), layer.forward_lstm.Wh.copy(), layer.forward_lstm.b.copy())
    rev = TimeLSTM(layer.reverse_lstm.Wx.copy(), layer.reverse_lstm.Wh.copy(), layer.reverse_lstm.b.copy())
    np.testing.assert_array_equal(y[..., :h], fwd.forward(x))
    x_reversed = np.ascontiguousarray(x[:, ::-1])
    np.testing.assert_allclose(y[..., h:], rev.forward(x_reversed)[:, ::-1], rtol=1e-14, atol=1e-15)
    # and backward: the reverse direction's gradients are those of the TimeLSTM on reversed data
    dout = rng.standard_normal(y.shape)
    dx = layer.backward(dout)
    dx_rev = rev.backward(np.ascontiguousarray(dout[:, ::-1, h:]))
    dx_fwd = fwd.backward(dout[..., :h])
    np.testing.assert_allclose(layer.reverse_lstm.dWx, rev.dWx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.reverse_lstm.dWh, rev.dWh, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.reverse_lstm.db, rev.db, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, dx_fwd + dx_rev[:, ::-1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n, t, d, h", [(1, 1, 1, 1), (2, 3, 2, 3), (3, 5, 4, 2)])
def test_bilstm_backward_matches_numerical_for_the_input_and_both_directions_weights(n, t, d, h):
    rng = np.random.default_rng(1)
    layer = random_bilstm(rng, d, h)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((n, t, d)), rng=rng)
    assert sorted(numeric) == ["forward.Wh", "forward.Wx", "forward.b", "reverse.Wh", "reverse.Wx",
                               "reverse.b", "x"]
    assert_gradients_close(analytic, numeric)


def test_bilstm_matches_pytorch_bidirectional_lstm_output_and_gradients():
    ref = np.load(REFERENCE, allow_pickle=False)
    layer = TimeBiLSTM.from_torch(ref)
    y = layer.forward(ref["x"])
    np.testing.assert_allclose(y, ref["output"], rtol=1e-12, atol=1e-14)
    dx = layer.backward(ref["dout"])
    np.testing.assert_allclose(dx, ref["dx"], rtol=1e-12, atol=1e-14)
    for lstm, suffix in ((layer.forward_lstm, "_l0"), (layer.reverse_lstm, "_l0_reverse")):
        np.testing.assert_allclose(lstm.dWx, ref["grad_weight_ih" + suffix].T, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(lstm.dWh, ref["grad_weight_hh" + suffix].T, rtol=1e-12, atol=1e-14)
        # b = bias_ih + bias_hh, so each of PyTorch's biases has the gradient of b
        np.testing.assert_allclose(lstm.db, ref["grad_bias_ih" + suffix], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(lstm.db, ref["grad_bias_hh" + suffix], rtol=1e-12, atol=1e-14)


def test_to_torch_names_both_directions_and_round_trips_exactly():
    rng = np.random.default_rng(2)
    layer = random_bilstm(rng, 3, 2)
    weights = layer.to_torch(layer=1)
    assert sorted(weights) == sorted(f"{w}_l1{r}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                                     for r in ("", "_reverse"))
    assert weights["weight_ih_l1_reverse"].shape == (8, 3)
    back = TimeBiLSTM.from_torch(weights, layer=1)
    for key, value in layer.params().items():
        np.testing.assert_array_equal(back.params()[key], value)


def test_from_torch_without_biases_gives_zero_biases_and_a_missing_weight_is_named():
    rng = np.random.default_rng(3)
    weights = {k: v for k, v in random_bilstm(rng, 2, 2).to_torch().items() if k.startswith("weight")}
    layer = TimeBiLSTM.from_torch(weights)
    np.testing.assert_array_equal(layer.reverse_lstm.b, np.zeros(8))
    del weights["weight_hh_l0_reverse"]
    with pytest.raises(ValueError, match=r"TimeBiLSTM.from_torch: no 'weight_hh_l0_reverse' among the weights"):
        TimeBiLSTM.from_torch(weights)


def test_built_from_sizes_the_directions_get_their_own_weights_from_one_rng():
    layer = TimeBiLSTM(3, 5, rng=0)
    assert (layer.input_size, layer.hidden_size) == (3, 5)
    assert layer.forward_lstm.Wx.shape == layer.reverse_lstm.Wx.shape == (3, 20)
    assert not np.array_equal(layer.forward_lstm.Wx, layer.reverse_lstm.Wx)
    np.testing.assert_array_equal(TimeBiLSTM(3, 5, rng=0).reverse_lstm.Wh, layer.reverse_lstm.Wh)
    assert TimeBiLSTM(3, 5, dtype=np.float32).forward(np.zeros((1, 2, 3), np.float32)).dtype == np.float32
    assert repr(layer) == "TimeBiLSTM(3 -> 2x5)"
    assert layer.output_shape((7, 3)) == (7, 10)


@pytest.mark.parametrize("args, match", [
    ((TimeLSTM(2, 3, stateful=True), TimeLSTM(2, 3)), r"TimeBiLSTM: forward_lstm .* is stateful"),
    ((TimeLSTM(2, 3), TimeLSTM(2, 4)), r"TimeBiLSTM: the two directions must have the same sizes and dtype"),
    ((TimeLSTM(2, 3), TimeLSTM(2, 3, dtype=np.float32)), r"the same sizes and dtype"),
    ((Affine(2, 3), TimeLSTM(2, 3)), r"TimeBiLSTM: forward_lstm must be a TimeLSTM or a size, got Affine"),
    ((0, 3), r"TimeLSTM: input_size must be an integer >= 1, got 0"),
])
def test_bad_directions_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        TimeBiLSTM(*args)


def test_one_lstm_as_both_directions_is_refused():
    lstm = TimeLSTM(2, 3)
    with pytest.raises(ValueError, match=r"TimeBiLSTM: layer 'reverse' is the same object as 'forward'"):
        TimeBiLSTM(lstm, lstm)


def test_bad_inputs_and_douts_are_refused_naming_the_layer():
    layer = TimeBiLSTM(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"TimeBiLSTM\(3 -> 2x2\): input must be a non-empty batch of sequences "
                                         r"\(N, T, 3\), got shape \(2, 3\)"):
        layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expects \(T, 3\) per sample, got input shape \(5, 4\)"):
        layer.output_shape((5, 4))
    with pytest.raises(BackwardBeforeForwardError, match="TimeBiLSTM.backward was called before"):
        layer.backward(np.zeros((1, 2, 4)))
    layer.forward(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"TimeBiLSTM.backward: dout has shape \(1, 2, 2\), expected \(1, 2, 4\)"):
        layer.backward(np.zeros((1, 2, 2)))


def test_without_input_grad_backward_returns_none_and_still_sets_the_weight_gradients():
    rng = np.random.default_rng(4)
    layer = random_bilstm(rng, 2, 3, input_grad=False)
    assert not layer.forward_lstm.input_grad and not layer.reverse_lstm.input_grad
    layer.forward(rng.standard_normal((2, 4, 2)))
    assert layer.backward(rng.standard_normal((2, 4, 6))) is None
    assert layer.reverse_lstm.dWx.shape == (2, 12)


def test_a_sequence_classifier_with_a_bilstm_holds_both_directions_and_gradient_checks():
    rng = np.random.default_rng(5)
    net = Sequential([TimeAffine(2, 3, rng=1), TimeBiLSTM(3, 2, rng=2), Affine(4 * 4, 3, rng=3)],
                     input_shape=(4, 2))
    bilstm = net.layers["BiLSTM1"]
    assert list(net.params) == ["W1", "b1", "Wx1", "Wh1", "b2", "Wx2", "Wh2", "b3", "W2", "b4"]
    assert net.params["Wx2"] is bilstm.reverse_lstm.Wx
    assert net._decay_keys == ["W1", "Wx1", "Wh1", "Wx2", "Wh2", "W2"]
    analytic, numeric = net.gradient_check(rng.standard_normal((3, 4, 2)), rng.integers(0, 3, 3))
    assert_gradients_close(analytic, numeric)


def test_a_network_starting_with_a_bilstm_clears_its_input_grad():
    net = Sequential([TimeBiLSTM(2, 2, rng=0), Affine(3 * 4, 2, rng=1)], input_shape=(3, 2))
    assert net.layers["BiLSTM1"].input_grad is False
    net.predict(np.zeros((1, 3, 2)), train=True)
    assert net.backward(np.ones((1, 2))) is None
    assert net.layers["BiLSTM1"].forward_lstm.dWx.shape == (2, 8)
