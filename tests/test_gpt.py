"""GPT: gradients of the whole loss (float64, tiny sizes), weight tying, the key/value cache
against recomputing the context, training through the Trainer, weights files, bad inputs."""

import numpy as np
import pytest

from bprop.datasets import BPTTBatches, Vocabulary
from bprop.layers import TiedTimeAffine, TimeAffine, TimeDropout, TimeEmbedding
from bprop.layers.gradcheck import assert_gradients_close
from bprop.layers.layernorm import LayerNorm
from bprop.layers.positional import PositionalEmbedding
from bprop.layers.transformer_block import TransformerBlock
from bprop.networks.gpt import GPT, top_k_scores
from bprop.optim import Adam, Trainer


def random_gpt(rng, vocab=7, context=6, embed=4, heads=2, layers=2, scale=0.5, **kwargs):
    """A float64 GPT with every parameter random, biases and LayerNorms included."""
    net = GPT(vocab, context, embed, heads, layers, rng=rng, **kwargs)
    for p in net.params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return net


@pytest.mark.parametrize("layers, heads, tie, dropout, n, t", [
    (1, 1, False, 0.0, 1, 1), (1, 2, False, 0.0, 2, 5), (2, 2, True, 0.0, 2, 4), (2, 1, False, 0.3, 3, 3),
    (1, 2, True, 0.25, 2, 6)])
def test_gpt_loss_gradient_matches_numerical_for_every_parameter(layers, heads, tie, dropout, n, t):
    rng = np.random.default_rng(100 * layers + 10 * heads + t)
    net = random_gpt(rng, layers=layers, heads=heads, tie_weights=tie, dropout=dropout)
    x, target = rng.integers(0, 7, (n, t)), rng.integers(0, 7, (n, t))
    analytic, numeric = net.gradient_check(x, target)
    assert set(analytic) == set(net.params)
    assert_gradients_close(analytic, numeric)


def test_gpt_layers_keys_and_shapes():
    net = GPT(65, 64, embed_dim=16, num_heads=4, num_layers=2, dropout=0.1, rng=0)
    assert [type(layer) for layer in net.layers.values()] == [
        TimeEmbedding, PositionalEmbedding, TimeDropout, TransformerBlock, TransformerBlock, LayerNorm, TimeAffine]
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes["W1"] == (65, 16) and shapes["P1"] == (64, 16)
    block = ["gamma", "beta", "Wqkv", "bqkv", "Wo", "bo", "gamma", "beta", "W", "b", "W", "b"]
    assert list(shapes)[2:14] == [f"{k}{i}" for k, i in zip(block, (1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 3, 2))]
    assert shapes["Wqkv2"] == (16, 48) and shapes["W2"] == (16, 64) and shapes["W3"] == (64, 16)
    assert list(shapes)[-4:] == ["gamma5", "beta5", "W6", "b5"] and shapes["W6"] == (16, 65)
    assert all(block.causal for block in net.blocks)
    assert net.predict(np.zeros((3, 11), dtype=np.int64)).shape == (3, 11, 65)  # any T up to the context
    assert abs(net.params["W1"].std() - 0.02) < 0.003  # GPT-2's embedding scale
    assert net.default_metrics == ("loss", "perplexity")


def test_tied_output_layer_shares_the_embedding_array_and_sums_both_gradients():
    rng = np.random.default_rng(1)
    tied = random_gpt(rng, vocab=9, context=8, embed=6, layers=1, tie_weights=True)
    assert isinstance(tied.output, TiedTimeAffine) and "W4" not in tied.params
    assert np.shares_memory(tied.output.W, tied.params["W1"])
    untied = GPT(9, 8, 6, 2, 1, rng=0)  # the same numbers, the output matrix a copy of E^T
    for key, p in tied.params.items():
        untied.params[key] = p
    untied.params["W4"] = tied.params["W1"].T
    x, t = rng.integers(0, 9, (2, 5)), rng.integers(0, 9, (2, 5))
    _, separate = untied.loss_and_gradient(x, t)
    _, grads = tied.loss_and_gradient(x, t)
    np.testing.assert_allclose(grads["W1"], separate["W1"] + separate["W4"].T, rtol=1e-12, atol=1e-15)
    Adam(lr=0.1).update(tied.params, grads)
    np.testing.assert_array_equal(tied.output.W, tied.params["W1"].T)


def test_kv_cache_logits_equal_recomputing_the_whole_context_at_every_step():
    rng = np.random.default_rng(2)
    net = random_gpt(rng, vocab=11, context=9, embed=8, heads=2, layers=3)
    seq = rng.integers(0, 11, (2, 9))
    net.reset_cache()
    cached = [net.forward_cached(seq[:, :3])]
    cached += [net.forward_cached(seq[:, i:i + 1]) for i in range(3, 9)]
    assert net.cache_length == 9
    cached = np.concatenate(cached, axis=1)
    for i in range(9):
        whole = net.predict(seq[:, :i + 1])[:, -1]
        assert np.max(np.abs(cached[:, i] - whole)) <= 1e-12 * np.max(np.abs(whole))
    with pytest.raises(ValueError, match="GPT.forward_cached: a sequence of 10 ids is longer than context_size=9"):
        net.forward_cached(seq[:, :1])
    net.reset_cache()
    assert net.cache_length == 0


@pytest.mark.parametrize("prompt_len, length, temperature, top_k", [
    (1, 12, 1.0, None), (3, 5, 0.7, 3), (4, 3, 0.0, None), (9, 6, 1.5, None), (2, 20, 1.0, 2), (5, 0, 1.0, None)])
def test_generate_with_the_cache_gives_the_tokens_of_recomputing_the_context(prompt_len, length, temperature, top_k):
    """Same rng, same ids: within the context and once the window slides past it (context 6)."""
    rng = np.random.default_rng(3)
    net = random_gpt(rng, vocab=5, context=6, embed=6, heads=3, layers=2, scale=1.0)
    prompt = rng.integers(0, 5, prompt_len)
    with_cache = net.generate(prompt, length, temperature, top_k, rng=7)
    without = net.generate(prompt, length, temperature, top_k, rng=7, use_cache=False)
    assert with_cache.shape == (length,) and with_cache.dtype == np.int64
    np.testing.assert_array_equal(with_cache, without)
    assert net.cache_length == 0  # emptied afterwards
    if temperature > 0 and top_k is None and length >= 4:
        assert len(set(with_cache.tolist())) > 1  # real draws, not one id over and over


def test_generate_greedy_picks_the_argmax_and_top_k_restricts_the_draws():
    rng = np.random.default_rng(4)
    net = random_gpt(rng, vocab=6, context=8, embed=4, heads=2, layers=1, scale=1.0)
    prompt = np.array([1, 2, 3])
    out = net.generate(prompt, 4, temperature=0)
    ids = list(prompt)
    for token in out:
        assert token == int(np.argmax(net.predict(np.array([ids]))[0, -1]))
        ids.append(token)
    scores = net.predict(prompt[None])[0, -1]
    firsts = {int(net.generate(prompt, 1, top_k=2, rng=seed)[0]) for seed in range(40)}
    assert firsts <= set(np.argsort(scores)[-2:].tolist())
    np.testing.assert_array_equal(top_k_scores(np.array([1.0, 3.0, 2.0, 3.0]), 2), [-np.inf, 3.0, -np.inf, 3.0])
    np.testing.assert_array_equal(top_k_scores(np.array([1.0, 2.0]), 5), [1.0, 2.0])


def test_a_tiny_gpt_trained_by_the_trainer_learns_a_short_string():
    text = "hello world! " * 9 + "h"
    vocab = Vocabulary.from_text(text)
    ids = vocab.encode(text)
    net = GPT(len(vocab), 26, embed_dim=16, num_heads=2, num_layers=1, rng=0)
    history = Trainer(net, Adam(lr=1e-2), BPTTBatches(ids, 3, 26), BPTTBatches(ids, 3, 26), epochs=30,
                      verbose=0, rng=0).fit()
    assert history["train_loss"][-1] < 0.05 < 2.0 < history["train_loss"][0]
    assert history["val_perplexity"][-1] < 1.1
    out = net.generate(vocab.encode("hello"), 21, temperature=0)
    assert "".join(vocab.chars[i] for i in out) == " world! hello world! "


def test_gpt_with_dropout_resumed_from_a_checkpoint_ends_bit_for_bit_as_the_run_never_stopped(tmp_path):
    ids = np.random.default_rng(6).integers(0, 7, 120)

    def run(epochs, checkpoint=None, resume=False):
        net = GPT(7, 8, 8, 2, 1, dropout=0.2, rng=0)
        Trainer(net, Adam(lr=1e-2), BPTTBatches(ids, 4, 8), epochs=epochs, verbose=0, rng=0,
                checkpoint=checkpoint, resume=resume).fit()
        return net

    whole = run(3)
    run(2, checkpoint=tmp_path / "gpt_run.npz")
    resumed = run(3, checkpoint=tmp_path / "gpt_run.npz", resume=True)
    for key, p in whole.params.items():
        np.testing.assert_array_equal(resumed.params[key], p)


def test_gpt_weights_file_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    net = random_gpt(rng, tie_weights=True)
    path = tmp_path / "gpt.npz"
    net.save_params(path)
    other = GPT(7, 6, 4, 2, 2, tie_weights=True, rng=9)
    other.load_params(path)
    x = rng.integers(0, 7, (2, 6))
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    with pytest.raises(ValueError, match="does not fit this network"):
        GPT(7, 6, 4, 2, 1, tie_weights=True).load_params(path)


def test_gpt_float32_stays_float32():
    net = GPT(7, 6, 4, 2, 1, dtype=np.float32, rng=0)
    loss, grads = net.loss_and_gradient(np.zeros((2, 3), np.int64), np.ones((2, 3), np.int64))
    assert net.predict(np.zeros((1, 2), np.int64)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values()) and np.isfinite(loss)


def test_gpt_refuses_ids_outside_the_vocabulary_and_sequences_longer_than_the_context():
    net = GPT(7, 5, 4, 2, 1, rng=0)
    with pytest.raises(ValueError, match=r"id 7 is outside \[0, 7\)"):
        net.loss(np.array([[1, 7]]), np.array([[1, 2]]))
    with pytest.raises(ValueError, match=r"id -1 is outside \[0, 7\)"):
        net.predict(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match=r"label 9 is outside \[0, 7\)"):
        net.loss(np.array([[1, 2]]), np.array([[1, 9]]))
    with pytest.raises(ValueError, match="GPT: a sequence of 6 ids is longer than context_size=5"):
        net.predict(np.zeros((2, 6), np.int64))
    with pytest.raises(ValueError, match=r"GPT: ids must be a non-empty batch of sequences of integer ids \(N, T\), "
                                         r"got shape \(4,\)"):
        net.predict(np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="got shape \\(1, 2\\) and dtype float64"):
        net.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"id 8 is outside \[0, 7\)"):
        net.generate(np.array([8]), 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(vocab_size=0), "GPT: vocab_size must be an integer >= 1, got 0"),
    (dict(context_size=0), "GPT: context_size must be an integer >= 1, got 0"),
    (dict(embed_dim=6, num_heads=4), "GPT: embed_dim=6 is not divisible by num_heads=4"),
    (dict(num_layers=0), "GPT: num_layers must be an integer >= 1, got 0"),
    (dict(dropout=1.0), r"GPT: dropout must be a ratio in \[0, 1\), got 1.0"),
    (dict(tie_weights="yes"), "GPT: tie_weights must be True or False, got 'yes'"),
    (dict(dtype=np.int8), "GPT: dtype must be float32 or float64, got int8"),
])
def test_gpt_rejects_bad_hyperparameters(kwargs, match):
    args = dict(vocab_size=7, context_size=5, embed_dim=4, num_heads=2, num_layers=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        GPT(**args)


@pytest.mark.parametrize("args, match", [
    ((np.array([[1, 2]]), 3), r"prompt_ids must be a non-empty 1-D array of integer ids, got shape \(1, 2\)"),
    ((np.array([], np.int64), 3), r"got shape \(0,\)"),
    ((np.array([1.0]), 3), "and dtype float64"),
    ((np.array([1]), -1), "GPT.generate: length must be an integer >= 0, got -1"),
    ((np.array([1]), 2, -0.5), "GPT.generate: temperature must be a finite number >= 0"),
    ((np.array([1]), 2, 1.0, 0), "GPT.generate: top_k must be an integer >= 1, got 0"),
])
def test_generate_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        GPT(7, 5, 4, 2, 1, rng=0).generate(*args)
