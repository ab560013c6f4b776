"""MultiHeadAttention: a hand-computed one-head case, gradient checks with every mask and with
dropout, PyTorch's numbers (tests/data/make_transformer_reference.py), the key/value cache,
bad inputs."""

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError
from bprop.layers.attention_mask import attention_bias, causal_bias
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient, randomize
from bprop.layers.multihead_attention import MultiHeadAttention
from bprop.layers.transformer_weights import attention_to_torch
from torch_reference import TORCH_RTOL, normwise_error, reference


def random_attention(rng, e=6, h=2, **kwargs):
    return randomize(MultiHeadAttention(e, h, rng=rng, **kwargs), rng)


def identity_attention(causal=False):
    """One head, E = 2: Q = K = V = x and y = the attention's output itself."""
    layer = MultiHeadAttention(2, 1, causal=causal)
    layer.Wqkv[...] = np.hstack([np.eye(2)] * 3)
    layer.Wo[...] = np.eye(2)
    return layer


def test_one_head_attention_forward_hand_values():
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    # scores x x^T / sqrt(2) = diag(a, a), a = 1/sqrt(2): each row softmax([a, 0]) (or [0, a])
    p = np.exp(1 / np.sqrt(2)) / (np.exp(1 / np.sqrt(2)) + 1)
    y, w = identity_attention().forward(x, need_weights=True)
    np.testing.assert_allclose(w, [[[p, 1 - p], [1 - p, p]]], rtol=1e-15)
    np.testing.assert_allclose(y, [[[p, 1 - p], [1 - p, p]]], rtol=1e-15)
    # causal: the first position sees only itself
    y, w = identity_attention(causal=True).forward(x, need_weights=True)
    np.testing.assert_allclose(w, [[[1.0, 0.0], [1 - p, p]]], rtol=1e-15)
    np.testing.assert_allclose(y, [[[1.0, 0.0], [1 - p, p]]], rtol=1e-15)


def test_attention_biases_are_added_to_every_projection():
    layer = identity_attention()
    layer.bqkv[4:] = [10.0, -1.0]  # the value bias: every output moves by it (weights sum to 1)
    layer.bo[...] = [0.5, 0.5]
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    np.testing.assert_allclose(layer.forward(x), identity_attention().forward(x) + [10.5, -0.5], rtol=1e-14)


@pytest.mark.parametrize("e, h, n, t, causal", [(4, 1, 1, 1, False), (6, 2, 2, 4, False), (6, 2, 2, 4, True),
                                                (6, 3, 3, 5, True), (4, 4, 1, 3, False)])
def test_attention_backward_matches_numerical(e, h, n, t, causal):
    rng = np.random.default_rng(100 * e + 10 * h + t)
    layer = random_attention(rng, e, h, causal=causal)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((n, t, e)), rng=rng)
    assert set(analytic) == {"x", "Wqkv", "bqkv", "Wo", "bo"}
    assert_gradients_close(analytic, numeric)


def test_attention_backward_matches_numerical_with_dropout_on_the_weights():
    rng = np.random.default_rng(7)
    layer = random_attention(rng, dropout=0.4, causal=True)
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((2, 5, 6)), rng=rng)
    assert_gradients_close(analytic, numeric)


def test_attention_backward_matches_numerical_with_float_bool_and_padding_masks():
    rng = np.random.default_rng(8)
    n, t, e, h = 2, 4, 6, 2

    class Masked(MultiHeadAttention):  # the masks given on every call of the gradient check
        def forward(self, x, train=True):
            return super().forward(x, train, attn_mask=float_mask, key_padding_mask=padding)

    layer = randomize(Masked(e, h, rng=rng), rng)
    float_mask = rng.standard_normal((n * h, t, t))
    float_mask[:, 0, 2] = -np.inf
    padding = np.zeros((n, t), dtype=bool)
    padding[1, 3] = True
    analytic, numeric = check_layer_gradient(layer, rng.standard_normal((n, t, e)), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("case", ["mha", "mha_causal", "mha_masks"])
def test_attention_matches_pytorch_forward_weights_and_every_gradient(case):
    ref = reference(case)
    layer = MultiHeadAttention.from_torch(ref, num_heads=2)
    masks = {k: ref[k] for k in ("attn_mask", "key_padding_mask") if k in ref}
    y, weights = layer.forward(ref["x"], need_weights=True, average_attn_weights=case != "mha_masks", **masks)
    dx = layer.backward(ref["dout"])
    grads = attention_to_torch(layer.dWqkv, layer.dbqkv, layer.dWo, layer.dbo)  # the gradients in torch's layout
    assert weights.shape == ref["weights"].shape
    assert normwise_error(y, ref["y"]) < TORCH_RTOL
    assert normwise_error(weights, ref["weights"]) < TORCH_RTOL
    assert normwise_error(dx, ref["dx"]) < TORCH_RTOL
    for name, grad in grads.items():
        assert normwise_error(grad, ref["grad." + name]) < TORCH_RTOL, name


def test_attention_to_torch_gives_back_the_arrays_from_torch():
    ref = reference("mha")
    state = MultiHeadAttention.from_torch(ref, num_heads=2).to_torch(prefix="self_attn.")
    assert sorted(state) == ["self_attn.in_proj_bias", "self_attn.in_proj_weight", "self_attn.out_proj.bias",
                             "self_attn.out_proj.weight"]
    for name, value in state.items():
        np.testing.assert_array_equal(value, ref[name[len("self_attn."):]])


def test_attention_weights_per_head_and_averaged():
    rng = np.random.default_rng(9)
    layer = random_attention(rng, 6, 3, causal=True)
    x = rng.standard_normal((2, 4, 6))
    _, per_head = layer.forward(x, need_weights=True, average_attn_weights=False)
    _, mean = layer.forward(x, need_weights=True)
    assert per_head.shape == (2, 3, 4, 4) and mean.shape == (2, 4, 4)
    np.testing.assert_allclose(per_head.sum(axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(np.triu(per_head, 1), 0.0)  # nothing after the query
    np.testing.assert_allclose(mean, per_head.mean(axis=1), rtol=1e-15)


def test_key_padding_mask_hides_keys_and_equals_the_float_form():
    rng = np.random.default_rng(10)
    layer = random_attention(rng)
    x = rng.standard_normal((2, 4, 6))
    padding = np.array([[False, False, False, True], [False, True, False, False]])
    y, w = layer.forward(x, need_weights=True, key_padding_mask=padding)
    assert w[0, :, 3].max() == 0.0 and w[1, :, 1].max() == 0.0
    y_float = layer.forward(x, key_padding_mask=np.where(padding, -np.inf, 0.0))
    np.testing.assert_array_equal(y, y_float)
    # a padded key changes nothing, whatever it holds
    x2 = x.copy()
    x2[0, 3] = 100.0
    np.testing.assert_allclose(layer.forward(x2, key_padding_mask=padding)[0, :3], y[0, :3], rtol=1e-13)


def test_causal_flag_equals_the_bool_causal_mask():
    rng = np.random.default_rng(11)
    layer = random_attention(rng)
    x = rng.standard_normal((2, 5, 6))
    causal = MultiHeadAttention(6, 2)
    for name in layer.param_names:
        getattr(causal, name)[...] = getattr(layer, name)
    causal.causal = True
    np.testing.assert_array_equal(causal.forward(x), layer.forward(x, attn_mask=np.triu(np.ones((5, 5), bool), 1)))
    np.testing.assert_array_equal(causal_bias(2, 3, start=1), [[0, 0, -np.inf], [0, 0, 0]])


def test_attention_dropout_acts_in_training_only_and_is_replayed_by_its_state():
    rng = np.random.default_rng(12)
    layer = random_attention(rng, dropout=0.5)
    x = rng.standard_normal((2, 4, 6))
    plain = random_attention(np.random.default_rng(12))
    np.testing.assert_array_equal(layer.forward(x, train=False), plain.forward(x, train=False))
    state = layer.state()
    first = layer.forward(x)
    assert not np.allclose(first, layer.forward(x, train=False))
    layer.set_state(state)
    np.testing.assert_array_equal(layer.forward(x), first)


def test_forward_cached_gives_the_whole_sequence_forward_position_by_position():
    rng = np.random.default_rng(13)
    layer = random_attention(rng, causal=True)
    x = rng.standard_normal((2, 7, 6))
    whole = layer.forward(x, train=False)
    layer.reset_cache()
    parts = [layer.forward_cached(x[:, :3]), layer.forward_cached(x[:, 3:4]), layer.forward_cached(x[:, 4:])]
    assert layer.cache_length == 7
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, rtol=1e-12, atol=1e-14)
    layer.reset_cache()
    assert layer.cache_length == 0
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.zeros_like(whole))  # forward_cached is for inference: no backward


def test_forward_cached_refuses_non_causal_attention_and_a_new_batch_size():
    rng = np.random.default_rng(14)
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(6, num_heads=2\): forward_cached needs causal=True"):
        random_attention(rng).forward_cached(np.zeros((1, 1, 6)))
    layer = random_attention(rng, causal=True)
    layer.forward_cached(np.zeros((2, 1, 6)))
    with pytest.raises(ValueError, match="the cache holds 2 sequences, the input 1"):
        layer.forward_cached(np.zeros((1, 1, 6)))


def test_attention_repr_shapes_and_init():
    layer = MultiHeadAttention(8, 2, dropout=0.1, causal=True, rng=0)
    assert repr(layer) == "MultiHeadAttention(8, num_heads=2, dropout=0.1, causal)"
    assert repr(MultiHeadAttention(8, 4)) == "MultiHeadAttention(8, num_heads=4)"
    assert {k: v.shape for k, v in layer.params().items()} == {"Wqkv": (8, 24), "bqkv": (24,), "Wo": (8, 8),
                                                               "bo": (8,)}
    assert layer.decay_names == ("Wqkv", "Wo") and layer.head_dim == 4
    assert layer.output_shape((5, 8)) == (5, 8)
    big = MultiHeadAttention(64, 4, rng=0)
    assert abs(big.Wqkv.std() - 1 / 8) < 0.01 and not big.bqkv.any()  # 'xavier': N(0, 1/E)
    assert MultiHeadAttention(4, 2, dtype=np.float32).forward(np.ones((1, 2, 4), np.float32)).dtype == np.float32


@pytest.mark.parametrize("args, kwargs, match", [
    ((6, 4), {}, "MultiHeadAttention: embed_dim=6 is not divisible by num_heads=4"),
    ((0, 1), {}, "MultiHeadAttention: embed_dim must be an integer >= 1, got 0"),
    ((6, 0), {}, "MultiHeadAttention: num_heads must be an integer >= 1, got 0"),
    ((6, 2.0), {}, "MultiHeadAttention: num_heads must be an integer >= 1, got 2.0"),
    ((6, 2), {"dropout": 1.0}, r"MultiHeadAttention: dropout must be a ratio in \[0, 1\), got 1.0"),
    ((6, 2), {"dropout": True}, r"MultiHeadAttention: dropout must be a ratio in \[0, 1\), got True"),
    ((6, 2), {"causal": "yes"}, "MultiHeadAttention: causal must be True or False, got 'yes'"),
    ((6, 2), {"init": "bogus"}, "bogus"),
    ((6, 2), {"dtype": np.int32}, "MultiHeadAttention: dtype must be float32 or float64, got int32"),
])
def test_attention_rejects_bad_hyperparameters(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention(*args, **kwargs)


@pytest.mark.parametrize("shape", [(4, 6), (1, 2, 3, 6), (2, 3, 5), (0, 3, 6), (2, 0, 6)])
def test_attention_rejects_inputs_of_the_wrong_rank_or_width(shape):
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(6, num_heads=2\): input must be a non-empty batch "
                                         r"of sequences \(N, T, 6\), got shape"):
        MultiHeadAttention(6, 2).forward(np.zeros(shape))


@pytest.mark.parametrize("shape", [(6,), (2, 3, 6), (3, 5)])
def test_attention_output_shape_refuses_what_is_not_one_sequence_of_width_e(shape):
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(6, num_heads=2\): expects \(T, 6\) per sample, "
                                         r"got input shape"):
        MultiHeadAttention(6, 2).output_shape(shape)


@pytest.mark.parametrize("kwargs, match", [
    ({"attn_mask": np.zeros((3, 4), bool)}, r"attn_mask must have shape \(T, S\) = \(4, 4\) or "
                                            r"\(N \* num_heads, T, S\) = \(4, 4, 4\), got \(3, 4\)"),
    ({"attn_mask": np.zeros((2, 4, 4))}, r"attn_mask must have shape .* got \(2, 4, 4\)"),
    ({"attn_mask": np.zeros((4, 4), np.int64)}, "attn_mask must be bool .* or float .* got dtype int64"),
    ({"key_padding_mask": np.zeros((2, 3), bool)},
     r"key_padding_mask must have shape \(N, S\) = \(2, 4\), got \(2, 3\)"),
    ({"key_padding_mask": np.zeros(4, bool)}, r"key_padding_mask must have shape \(N, S\) = \(2, 4\), got \(4,\)"),
    ({"key_padding_mask": np.array([[True] * 4, [False] * 4])}, r"every key is masked for a query \(index \(0, 0, 0\)"),
    ({"attn_mask": np.triu(np.ones((4, 4), bool))}, "every key is masked for a query"),
])
def test_attention_rejects_bad_masks(kwargs, match):
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(6, num_heads=2\): " + match):
        MultiHeadAttention(6, 2).forward(np.zeros((2, 4, 6)), **kwargs)


def test_attention_bias_without_masks_is_none():
    assert attention_bias("x", 2, 2, 3, 3) is None


def test_attention_backward_before_forward_and_wrong_dout():
    layer = MultiHeadAttention(6, 2)
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.zeros((1, 2, 6)))
    layer.forward(np.ones((1, 2, 6)))
    with pytest.raises(ValueError,
                       match=r"MultiHeadAttention.backward: dout has shape \(1, 3, 6\), expected \(1, 2, 6\)"):
        layer.backward(np.zeros((1, 3, 6)))


def test_attention_from_torch_refuses_separate_projections_and_bad_shapes():
    with pytest.raises(ValueError, match="separate q/k/v projections"):
        MultiHeadAttention.from_torch({"q_proj_weight": np.zeros((4, 4))}, 2)
    with pytest.raises(ValueError, match=r"in_proj_weight must have shape \(3E, E\), got \(4, 4\)"):
        MultiHeadAttention.from_torch({"in_proj_weight": np.zeros((4, 4))}, 2)
    with pytest.raises(ValueError, match="the state has no 'out_proj.weight'"):
        MultiHeadAttention.from_torch({"in_proj_weight": np.zeros((12, 4))}, 2)
