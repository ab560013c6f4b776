"""TransformerBlock: PyTorch's nn.TransformerEncoderLayer(norm_first=True, activation='gelu')
(tests/data/make_transformer_reference.py), gradient checks, hand values, the cache, bad inputs."""

import math

import numpy as np
import pytest

from bprop.layers import BackwardBeforeForwardError, TimeAffine, TimeSoftmaxWithLoss
from bprop.layers.gradcheck import assert_gradients_close, check_layer_gradient, randomize
from bprop.layers.transformer_block import TransformerBlock
from bprop.layers.transformer_weights import block_to_torch
from bprop.networks import Sequential
from torch_reference import TORCH_RTOL, normwise_error, reference


def random_block(rng, e=6, h=2, **kwargs):
    return randomize(TransformerBlock(e, h, rng=rng, **kwargs), rng)


def grads_in_torch_names(block):
    return block_to_torch({part: {name: getattr(getattr(block, part), "d" + name)
                                  for name in getattr(block, part).param_names}
                           for part in ("norm1", "attn", "norm2", "linear1", "linear2")})


@pytest.mark.parametrize("case, causal", [("block", False), ("block_causal", True)])
def test_block_matches_pytorch_encoder_layer_forward_and_every_gradient(case, causal):
    ref = reference(case)
    block = TransformerBlock.from_torch(ref, num_heads=2, causal=causal)
    assert block.hidden_size == 32 and block.mlp_ratio == 4
    y = block.forward(ref["x"])
    dx = block.backward(ref["dout"])
    assert normwise_error(y, ref["y"]) < TORCH_RTOL
    assert normwise_error(dx, ref["dx"]) < TORCH_RTOL
    grads = grads_in_torch_names(block)
    assert len(grads) == 12
    for name, grad in grads.items():
        assert normwise_error(grad, ref["grad." + name]) < TORCH_RTOL, name


def test_block_to_torch_gives_back_the_state_dict_it_came_from():
    ref = reference("block")
    state = TransformerBlock.from_torch(ref, num_heads=2).to_torch()
    names = {k for k in ref if not k.startswith("grad.") and k not in ("x", "y", "dx", "dout")}
    assert set(state) == names
    for name in names:
        np.testing.assert_array_equal(state[name], ref[name])


def test_block_with_zero_weights_adds_the_two_output_biases_to_its_input():
    block = TransformerBlock(4, 2)
    for p in block.params().values():
        p[...] = 0.0
    block.norm1.gamma[...] = block.norm2.gamma[...] = 1.0
    block.attn.bo[...] = [1.0, 2.0, 3.0, 4.0]
    block.linear2.b[...] = [0.5, 0.5, 0.5, -4.0]
    block.linear1.b[...] = 7.0  # GELU(7) W2 = 0 whatever GELU(7) is
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(block.forward(x), x + [1.5, 2.5, 3.5, 0.0], rtol=1e-15, atol=1e-15)


def test_block_mlp_is_gelu_with_the_error_function():
    """Attention zeroed, one hidden unit read: y - x = GELU(u) * w with GELU(u) = u (1 + erf(u / sqrt 2)) / 2."""
    block = TransformerBlock(2, 1, mlp_ratio=1)
    for p in block.params().values():
        p[...] = 0.0
    block.norm2.beta[...] = [0.3, -1.2]  # LN2's output is beta when gamma = 0
    block.linear1.W[...] = 0.0
    block.linear1.b[...] = [0.3, -1.2]
    block.linear2.W[...] = [[2.0, 0.0], [0.0, 1.0]]
    x = np.ones((1, 1, 2))
    gelu = [u * (1 + math.erf(u / math.sqrt(2))) / 2 for u in (0.3, -1.2)]
    np.testing.assert_allclose(block.forward(x)[0, 0] - 1.0, [2 * gelu[0], gelu[1]], rtol=1e-14)


def test_block_mlp_with_the_tanh_gelu_is_gpt2s_form_and_its_backward_matches_numerical():
    """Same set-up as above with gelu_approximate='tanh': GELU(u) = u (1 + tanh(sqrt(2/pi) (u + 0.044715 u**3))) / 2."""
    block = TransformerBlock(2, 1, mlp_ratio=1, gelu_approximate="tanh")
    assert "gelu_approximate='tanh'" in repr(block)
    for p in block.params().values():
        p[...] = 0.0
    block.norm2.beta[...] = [0.3, -1.2]
    block.linear1.b[...] = [0.3, -1.2]
    block.linear2.W[...] = [[2.0, 0.0], [0.0, 1.0]]
    gelu = [u * (1 + math.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3))) / 2 for u in (0.3, -1.2)]
    np.testing.assert_allclose(block.forward(np.ones((1, 1, 2)))[0, 0] - 1.0, [2 * gelu[0], gelu[1]], rtol=1e-14)
    rng = np.random.default_rng(7)
    block = TransformerBlock(6, 2, causal=True, gelu_approximate="tanh", rng=rng)
    analytic, numeric = check_layer_gradient(block, rng.standard_normal((2, 3, 6)), rng=rng)
    assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("e, h, ratio, n, t, causal, dropout", [
    (4, 1, 4, 1, 1, False, 0.0), (6, 2, 4, 2, 3, False, 0.0), (6, 2, 2, 2, 4, True, 0.0),
    (6, 3, 1.5, 3, 3, True, 0.0), (4, 2, 4, 2, 3, True, 0.3)])
def test_block_backward_matches_numerical(e, h, ratio, n, t, causal, dropout):
    rng = np.random.default_rng(1000 * e + 100 * h + 10 * t + n)
    block = random_block(rng, e, h, mlp_ratio=ratio, causal=causal, dropout=dropout)
    analytic, numeric = check_layer_gradient(block, rng.standard_normal((n, t, e)), rng=rng)
    assert set(analytic) == {"x", "norm1.gamma", "norm1.beta", "attn.Wqkv", "attn.bqkv", "attn.Wo", "attn.bo",
                             "norm2.gamma", "norm2.beta", "linear1.W", "linear1.b", "linear2.W", "linear2.b"}
    assert_gradients_close(analytic, numeric)


def test_block_passes_masks_to_its_attention():
    rng = np.random.default_rng(3)
    block = random_block(rng)
    x = rng.standard_normal((2, 4, 6))
    causal = random_block(np.random.default_rng(3), causal=True)
    np.testing.assert_array_equal(block.forward(x, attn_mask=np.triu(np.ones((4, 4), bool), 1)), causal.forward(x))
    padding = np.array([[False, False, False, True], [False] * 4])
    y = block.forward(x, key_padding_mask=padding)
    x[0, 3] += 50.0  # a padded key changes no other position's output
    np.testing.assert_allclose(block.forward(x, key_padding_mask=padding)[0, :3], y[0, :3], rtol=1e-12)


def test_block_forward_cached_equals_the_whole_forward():
    rng = np.random.default_rng(4)
    block = random_block(rng, causal=True, dropout=0.2)
    x = rng.standard_normal((2, 6, 6))
    whole = block.forward(x, train=False)
    block.reset_cache()
    parts = [block.forward_cached(x[:, :2])] + [block.forward_cached(x[:, i:i + 1]) for i in range(2, 6)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, rtol=1e-12, atol=1e-13)
    assert block.attn.cache_length == 6


def test_block_in_a_sequential_numbers_its_sublayers_parameters_in_the_chain():
    net = Sequential([TransformerBlock(4, 2, rng=0), TransformerBlock(4, 2, rng=1), TimeAffine(4, 3)],
                     loss=TimeSoftmaxWithLoss(), input_shape=(5, 4))
    assert list(net.params) == ["gamma1", "beta1", "Wqkv1", "bqkv1", "Wo1", "bo1", "gamma2", "beta2", "W1", "b1",
                                "W2", "b2", "gamma3", "beta3", "Wqkv2", "bqkv2", "Wo2", "bo2", "gamma4", "beta4",
                                "W3", "b3", "W4", "b4", "W5", "b5"]
    block = net.layers["TransformerBlock1"]
    assert block.attn.Wqkv is net.params["Wqkv1"] or np.shares_memory(block.attn.Wqkv, net.params["Wqkv1"])
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((2, 5, 4)), rng.integers(0, 3, (2, 5))
    analytic, numeric = net.gradient_check(x, t)
    assert_gradients_close(analytic, numeric)


def test_block_repr_sizes_and_float32():
    block = TransformerBlock(8, 2, mlp_ratio=2, dropout=0.1, causal=True, rng=0)
    assert repr(block) == "TransformerBlock(8, num_heads=2, mlp_ratio=2, dropout=0.1, causal)"
    assert repr(TransformerBlock(8, 4)) == "TransformerBlock(8, num_heads=4, mlp_ratio=4)"
    assert block.linear1.W.shape == (8, 16) and block.linear2.W.shape == (16, 8)
    assert TransformerBlock(6, 2, mlp_ratio=2.5).hidden_size == 15
    assert block.output_shape((7, 8)) == (7, 8)
    with pytest.raises(ValueError, match=r"TransformerBlock\(8, .*\): expects \(T, 8\) per sample, got input shape"):
        block.output_shape((7, 9))
    f32 = TransformerBlock(4, 2, dtype=np.float32, rng=0)
    y = f32.forward(np.ones((1, 2, 4), np.float32))
    assert y.dtype == f32.backward(np.ones_like(y)).dtype == f32.attn.dWqkv.dtype == np.float32


@pytest.mark.parametrize("args, kwargs, match", [
    ((6, 4), {}, "MultiHeadAttention: embed_dim=6 is not divisible by num_heads=4"),
    ((0, 1), {}, "TransformerBlock: embed_dim must be an integer >= 1, got 0"),
    ((6, 2), {"mlp_ratio": 0}, "TransformerBlock: mlp_ratio must be a finite number > 0, got 0"),
    ((6, 2), {"mlp_ratio": "4"}, "TransformerBlock: mlp_ratio must be a finite number > 0, got '4'"),
    ((6, 2), {"mlp_ratio": 0.25}, r"TransformerBlock: mlp_ratio \* embed_dim must be a whole number >= 1, "
                                  r"got 0.25 \* 6 = 1.5"),
    ((6, 2), {"dropout": -0.1}, r"TransformerBlock: dropout must be a ratio in \[0, 1\), got -0.1"),
    ((6, 2), {"causal": 1.5}, "MultiHeadAttention: causal must be True or False, got 1.5"),
])
def test_block_rejects_bad_hyperparameters(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TransformerBlock(*args, **kwargs)


@pytest.mark.parametrize("shape", [(2, 6), (2, 3, 5), (1, 2, 3, 6), (0, 2, 6)])
def test_block_rejects_inputs_of_the_wrong_shape(shape):
    match = r"TransformerBlock\(6, num_heads=2, mlp_ratio=4, causal\): input must be a non-empty batch of " \
            r"sequences \(N, T, 6\), got shape"
    block = TransformerBlock(6, 2, causal=True)
    with pytest.raises(ValueError, match=match):
        block.forward(np.zeros(shape))
    with pytest.raises(ValueError, match=match):
        block.forward_cached(np.zeros(shape))


def test_block_backward_before_forward_and_from_torch_with_wrong_shapes():
    with pytest.raises(BackwardBeforeForwardError):
        TransformerBlock(4, 2).backward(np.zeros((1, 2, 4)))
    state = TransformerBlock(4, 2, rng=0).to_torch()
    state["norm2.weight"], state["norm2.bias"] = np.ones(5), np.zeros(5)
    with pytest.raises(ValueError, match=r"TransformerBlock.from_torch: norm2.gamma has shape \(5,\), expected \(4,\)"):
        TransformerBlock.from_torch(state, num_heads=2)
    del state["linear2.weight"]
    with pytest.raises(ValueError, match="the state has no 'linear2.weight'"):
        TransformerBlock.from_torch(state, num_heads=2)
