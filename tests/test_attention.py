"""AttentionWeight, WeightSum, Attention and TimeAttention: hand values, float64 gradient checks of
both inputs, agreement of TimeAttention with one Attention per step, stability, bad inputs."""

import re

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError
from bprop.layers.attention import Attention, AttentionWeight, WeightSum
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient
from bprop.layers.time_attention import TimeAttention

# one sample, three encoder steps of two features; h scores them ln2, 0, ln2
HS = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
H = np.array([[np.log(2.0), 0.0]])


def input_gradients(layer, inputs, names, rng):
    """Backprop and central-difference gradients of ``sum(layer.forward(*inputs) * dout)``
    with respect to every input, for a random ``dout``."""
    out = layer.forward(*inputs)
    dout = rng.standard_normal(out.shape)
    analytic = dict(zip(names, layer.backward(dout)))

    def f():
        return float(np.sum(layer.forward(*inputs) * dout))

    numeric = {name: numerical_gradient(f, x, 1e-6) for name, x in zip(names, inputs)}
    return analytic, numeric


# --- hand-computed values ------------------------------------------------------------------


def test_attention_weight_forward_hand_values():
    # exp(ln2), exp(0), exp(ln2) = 2, 1, 2, over 5
    a = AttentionWeight().forward(HS, H)
    np.testing.assert_allclose(a, [[0.4, 0.2, 0.4]], rtol=1e-12)


def test_weight_sum_forward_and_backward_hand_values():
    layer = WeightSum()
    a = np.array([[0.5, 0.25, 0.25]])
    np.testing.assert_allclose(layer.forward(HS, a), [[0.75, 0.5]], rtol=1e-12)
    dhs, da = layer.backward(np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(dhs, [[[0.5, 1.0], [0.25, 0.5], [0.25, 0.5]]], rtol=1e-12)
    np.testing.assert_allclose(da, [[1.0, 2.0, 3.0]], rtol=1e-12)  # hs_t . dc


def test_attention_forward_hand_values_and_keeps_its_weights():
    layer = Attention()
    c = layer.forward(HS, H)
    # 0.4 * (1, 0) + 0.2 * (0, 1) + 0.4 * (1, 1)
    np.testing.assert_allclose(c, [[0.8, 0.6]], rtol=1e-12)
    np.testing.assert_allclose(layer.attention_weight, [[0.4, 0.2, 0.4]], rtol=1e-12)


def test_attention_weight_backward_hand_values():
    # da picks the first weight: ds = a * (e_0 - a_0) = (0.4*0.6, -0.2*0.4, -0.4*0.4)
    layer = AttentionWeight()
    layer.forward(HS, H)
    dhs, dh = layer.backward(np.array([[1.0, 0.0, 0.0]]))
    ds = np.array([0.24, -0.08, -0.16])
    np.testing.assert_allclose(dhs[0], ds[:, None] * H, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dh[0], ds @ HS[0], rtol=1e-12)  # (0.24 - 0.16, -0.08 - 0.16)


def test_time_attention_forward_hand_values():
    # decoder step 0 is the h above; step 1 scores every encoder step 0 and weights them evenly
    hs_dec = np.array([[[np.log(2.0), 0.0], [0.0, 0.0]]])
    layer = TimeAttention()
    c = layer.forward(HS, hs_dec)
    np.testing.assert_allclose(c, [[[0.8, 0.6], [2 / 3, 2 / 3]]], rtol=1e-12)
    np.testing.assert_allclose(layer.attention_weights, [[[0.4, 0.2, 0.4], [1 / 3, 1 / 3, 1 / 3]]], rtol=1e-12)


# --- gradients -----------------------------------------------------------------------------

SHAPES = [(1, 1, 1), (2, 3, 4), (3, 5, 2)]


@pytest.mark.parametrize("n, t, h", SHAPES)
def test_attention_weight_backward_matches_numerical_for_hs_and_h(n, t, h):
    rng = np.random.default_rng(n + 10 * t + 100 * h)
    inputs = (rng.standard_normal((n, t, h)), rng.standard_normal((n, h)))
    assert_gradients_close(*input_gradients(AttentionWeight(), inputs, ("hs", "h"), rng))


@pytest.mark.parametrize("n, t, h", SHAPES)
def test_weight_sum_backward_matches_numerical_for_hs_and_a(n, t, h):
    rng = np.random.default_rng(1 + n + 10 * t + 100 * h)
    inputs = (rng.standard_normal((n, t, h)), rng.random((n, t)))
    assert_gradients_close(*input_gradients(WeightSum(), inputs, ("hs", "a"), rng))


@pytest.mark.parametrize("n, t, h", SHAPES)
def test_attention_backward_matches_numerical_for_hs_and_h(n, t, h):
    rng = np.random.default_rng(2 + n + 10 * t + 100 * h)
    inputs = (rng.standard_normal((n, t, h)), rng.standard_normal((n, h)))
    assert_gradients_close(*input_gradients(Attention(), inputs, ("hs", "h"), rng))


@pytest.mark.parametrize("n, t, t_dec, h", [(1, 1, 1, 1), (2, 3, 4, 5), (3, 6, 2, 3)])
def test_time_attention_backward_matches_numerical_for_encoder_and_decoder_states(n, t, t_dec, h):
    rng = np.random.default_rng(3 + n + 10 * t + 100 * t_dec + 1000 * h)
    inputs = (rng.standard_normal((n, t, h)), rng.standard_normal((n, t_dec, h)))
    assert_gradients_close(*input_gradients(TimeAttention(), inputs, ("hs_enc", "hs_dec"), rng))


def test_time_attention_is_one_attention_per_decoder_step_forward_and_backward():
    rng = np.random.default_rng(4)
    hs_enc, hs_dec = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 6, 4))
    dC = rng.standard_normal((3, 6, 4))
    layer = TimeAttention()
    C = layer.forward(hs_enc, hs_dec)
    dhs_enc, dhs_dec = layer.backward(dC)
    want_enc = np.zeros_like(hs_enc)
    for u in range(6):
        step = Attention()
        np.testing.assert_allclose(C[:, u], step.forward(hs_enc, hs_dec[:, u]), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.attention_weights[:, u], step.attention_weight, rtol=1e-12, atol=1e-15)
        dhs, dh = step.backward(dC[:, u])
        want_enc += dhs  # every step reads all of hs_enc
        np.testing.assert_allclose(dhs_dec[:, u], dh, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dhs_enc, want_enc, rtol=1e-10, atol=1e-12)


# --- numerics and dtypes ------------------------------------------------------------------


def test_attention_weights_stay_finite_for_huge_scores():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the right answer
        a = AttentionWeight().forward(np.array([[[1.0], [2.0], [-3.0]]]), np.array([[1000.0]]))
        weights = TimeAttention()
        weights.forward(np.array([[[1.0], [2.0]]]), np.array([[[-800.0], [900.0]]]))
    np.testing.assert_array_equal(a, [[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(weights.attention_weights, [[[1.0, 0.0], [0.0, 1.0]]])


def test_attention_weights_sum_to_one_over_the_encoder_steps():
    rng = np.random.default_rng(5)
    layer = TimeAttention()
    layer.forward(rng.standard_normal((4, 7, 3)), rng.standard_normal((4, 2, 3)))
    assert layer.attention_weights.shape == (4, 2, 7)
    np.testing.assert_allclose(layer.attention_weights.sum(axis=2), 1.0, rtol=1e-12)


@pytest.mark.parametrize("make, second", [(AttentionWeight, (2, 4)), (WeightSum, (2, 3)), (Attention, (2, 4)),
                                          (TimeAttention, (2, 5, 4))])
def test_attention_layers_keep_float32_and_leave_dout_alone(make, second):
    rng = np.random.default_rng(6)
    layer = make()
    out = layer.forward(rng.standard_normal((2, 3, 4)).astype(np.float32),
                        rng.standard_normal(second).astype(np.float32))
    assert out.dtype == np.float32
    dout = np.ones_like(out)
    grads = layer.backward(dout)
    assert all(g.dtype == np.float32 for g in grads)
    np.testing.assert_array_equal(dout, 1)


# --- bad inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize("make, hs, other, match", [
    (AttentionWeight, (2, 3, 4), (2, 5),
     r"AttentionWeight(): h must be a floating-point array of shape (N, H) = (2, 4) to go with hs of shape (2, 3, 4), "
     r"got shape (2, 5)"),
    (AttentionWeight, (2, 3, 4), (3, 4), r"h must be a floating-point array of shape (N, H) = (2, 4)"),
    (AttentionWeight, (3, 4), (3, 4), r"AttentionWeight(): hs must be a non-empty floating-point array (N, T, H), "
                                      r"got shape (3, 4)"),
    (WeightSum, (2, 3, 4), (2, 4), r"WeightSum(): a must be a floating-point array of shape (N, T) = (2, 3)"),
    (WeightSum, (2, 0, 4), (2, 0), r"WeightSum(): hs must be a non-empty"),
    (Attention, (2, 3, 4), (2, 3), r"Attention(): h must be a floating-point array of shape (N, H) = (2, 4)"),
    (TimeAttention, (2, 3, 4), (2, 5, 3), r"TimeAttention(): hs_dec must have shape (N, T', H) = (2, T', 4) "
                                          r"to go with hs_enc of shape (2, 3, 4), got (2, 5, 3)"),
    (TimeAttention, (2, 3, 4), (1, 5, 4), r"hs_dec must have shape (N, T', H) = (2, T', 4)"),
    (TimeAttention, (2, 3, 4), (2, 4), r"TimeAttention(): hs_dec must be a non-empty floating-point array"),
])
def test_attention_layers_refuse_mismatched_shapes_naming_the_layer(make, hs, other, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        make().forward(np.ones(hs), np.ones(other))


def test_attention_layers_refuse_integer_states():
    with pytest.raises(ValueError, match=r"hs must be a non-empty floating-point array .* dtype int64"):
        Attention().forward(np.ones((2, 3, 4), dtype=np.int64), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"a must be a floating-point array .* dtype int64"):
        WeightSum().forward(np.ones((2, 3, 4)), np.ones((2, 3), dtype=np.int64))


@pytest.mark.parametrize("make, second, bad", [(AttentionWeight, (2, 4), (2, 4)), (WeightSum, (2, 3), (2, 3)),
                                               (Attention, (2, 4), (2, 3)), (TimeAttention, (2, 5, 4), (2, 4, 4))])
def test_attention_layers_refuse_dout_of_another_shape(make, second, bad):
    layer = make()
    layer.forward(np.ones((2, 3, 4)), np.ones(second))
    with pytest.raises(ValueError, match=rf"{make.__name__}.backward: dout has shape"):
        layer.backward(np.ones(bad))


@pytest.mark.parametrize("make", [AttentionWeight, WeightSum, Attention, TimeAttention])
def test_attention_layers_refuse_backward_before_forward(make):
    with pytest.raises(BackwardBeforeForwardError, match=f"{make.__name__}.backward was called before"):
        make().backward(np.ones((1, 1)))


def test_attention_layers_output_shapes_and_reprs():
    assert AttentionWeight().output_shape((7, 4)) == (7,)
    assert WeightSum().output_shape((7, 4)) == (4,) and Attention().output_shape((7, 4)) == (4,)
    assert TimeAttention().output_shape((5, 4)) == (5, 4)
    assert repr(TimeAttention()) == "TimeAttention()" and Attention().params() == {}
    for layer in (AttentionWeight(), WeightSum(), Attention(), TimeAttention()):
        with pytest.raises(ValueError, match=re.escape(f"{layer!r}: expects")):
            layer.output_shape((4,))
