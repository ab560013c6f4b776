"""RnnLM: gradients (float64, tiny sizes), weight tying, carried state, generation."""

import numpy as np
import pytest

from bprop.layers import TiedTimeAffine, TimeAffine, TimeDropout, TimeEmbedding, TimeLSTM
from bprop.layers.gradcheck import assert_gradients_close, randomize
from bprop.networks import RnnLM
from bprop.networks.rnnlm import sample_id
from bprop.optim import Adam


def random_lm(rng, vocab=7, embed=4, hidden=5, **kwargs):
    """A float64 RnnLM with every parameter random, biases included."""
    return randomize(RnnLM(vocab, embed, hidden, rng=rng, **kwargs), rng)


@pytest.mark.parametrize("num_layers, dropout, tie, n, t", [
    (1, 0.0, False, 1, 1), (1, 0.0, False, 3, 5), (2, 0.4, False, 2, 3), (1, 0.0, True, 2, 4),
    (2, 0.3, True, 3, 2)])
def test_rnnlm_gradient_matches_numerical_from_a_carried_state(num_layers, dropout, tie, n, t):
    rng = np.random.default_rng(100 * num_layers + 10 * n + t)
    net = random_lm(rng, embed=5 if tie else 4, num_layers=num_layers, dropout=dropout, tie_weights=tie)
    net.predict(rng.integers(0, 7, (n, 2)))  # a state to carry into the checked window
    x, target = rng.integers(0, 7, (n, t)), rng.integers(0, 7, (n, t))
    analytic, numeric = net.gradient_check(x, target)
    assert_gradients_close(analytic, numeric)


def test_rnnlm_layers_keys_and_shapes():
    net = RnnLM(65, 16, 32, num_layers=2, dropout=0.2, rng=0)
    assert [type(layer) for layer in net.layers.values()] == [
        TimeEmbedding, TimeDropout, TimeLSTM, TimeDropout, TimeLSTM, TimeDropout, TimeAffine]
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (65, 16), "Wx1": (16, 128), "Wh1": (32, 128), "b1": (128,),
        "Wx2": (32, 128), "Wh2": (32, 128), "b2": (128,), "W2": (32, 65), "b3": (65,)}
    assert all(lstm.stateful for lstm in net.lstms)
    assert net.predict(np.zeros((3, 11), dtype=np.int64)).shape == (3, 11, 65)  # any T
    assert [type(layer) for layer in RnnLM(10, 4, 4, rng=0).layers.values()] == [
        TimeEmbedding, TimeLSTM, TimeAffine]


def test_tied_output_layer_reads_the_embedding_matrix_before_and_after_an_update():
    rng = np.random.default_rng(1)
    net = RnnLM(9, 6, 6, tie_weights=True, rng=0)
    assert list(net.params) == ["W1", "Wx1", "Wh1", "b1", "b2"]
    out = net.output
    assert isinstance(out, TiedTimeAffine)
    assert out.W.shape == (6, 9) and np.shares_memory(out.W, net.params["W1"])
    x = rng.integers(0, 9, (2, 4))
    _, grads = net.loss_and_gradient(x, rng.integers(0, 9, (2, 4)))
    Adam(lr=0.1).update(net.params, grads)
    np.testing.assert_array_equal(out.W, net.params["W1"].T)


def test_tied_weights_need_equal_embedding_and_hidden_sizes():
    with pytest.raises(ValueError, match="tie_weights needs embed_size == hidden_size.*embed_size=4 and hidden_size=5"):
        RnnLM(7, 4, 5, tie_weights=True)


def test_tied_time_affine_on_its_own():
    emb = TimeEmbedding(5, 3, rng=0)
    layer = TiedTimeAffine(emb)
    assert repr(layer) == "TiedTimeAffine(3 -> 5, tied to TimeEmbedding(5, 3))"
    assert layer.param_names == ("b",) and layer.decay_names == ()
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    np.testing.assert_allclose(layer.forward(x), x @ emb.W.T)
    dW = layer.backward(np.ones((2, 4, 5))) is not None and layer.dW
    np.testing.assert_allclose(dW, x.reshape(8, 3).T @ np.ones((8, 5)))
    with pytest.raises(ValueError, match="needs an Embedding"):
        TiedTimeAffine(TimeAffine(3, 5))
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        TiedTimeAffine(emb, np.zeros(4))


@pytest.mark.parametrize("bad, match", [
    (dict(vocab_size=0), "vocab_size must be an integer >= 1"),
    (dict(hidden_size=2.5), "hidden_size must be an integer >= 1"),
    (dict(num_layers=0), "num_layers must be an integer >= 1"),
    (dict(dropout=1.0), r"dropout must be a ratio in \[0, 1\)"),
    (dict(dtype=np.int32), "dtype must be float32 or float64"),
])
def test_rnnlm_rejects_bad_arguments(bad, match):
    kwargs = dict(vocab_size=7, embed_size=4, hidden_size=5)
    kwargs.update(bad)
    with pytest.raises(ValueError, match=match):
        RnnLM(**kwargs)


def test_float32_model_stays_float32():
    net = RnnLM(7, 4, 5, dropout=0.1, dtype=np.float32, rng=0)
    rng = np.random.default_rng(0)
    loss, grads = net.loss_and_gradient(rng.integers(0, 7, (2, 3)), rng.integers(0, 7, (2, 3)))
    assert np.isfinite(loss) and all(g.dtype == np.float32 for g in grads.values())
    assert net.predict(rng.integers(0, 7, (2, 3))).dtype == np.float32


def test_reset_state_starts_every_stream_from_zeros():
    rng = np.random.default_rng(2)
    net = random_lm(rng, num_layers=2)
    x = rng.integers(0, 7, (2, 4))
    first = net.predict(x)
    assert not np.allclose(net.predict(x), first)  # the state carried over
    net.reset_state()
    np.testing.assert_array_equal(net.predict(x), first)


# ---------------------------------------------------------------- generation


def test_greedy_generation_picks_the_most_likely_next_id_at_every_step():
    rng = np.random.default_rng(3)
    net = random_lm(rng, num_layers=2, dropout=0.5)
    start = np.array([1, 4, 2])
    out = net.generate(start, 8, temperature=0)
    assert out.shape == (8,) and out.dtype == np.int64
    net.reset_state()
    scores = net.predict(np.concatenate([start, out[:-1]])[None, :])  # the same text read at once
    np.testing.assert_array_equal(np.argmax(scores[0, len(start) - 1:], axis=1), out)


def test_sampling_is_reproducible_and_leaves_the_training_state_alone():
    rng = np.random.default_rng(4)
    net = random_lm(rng, dropout=0.3)
    net.predict(rng.integers(0, 7, (3, 5)), train=True)
    h, c = net.lstms[0].h.copy(), net.lstms[0].c.copy()
    dropout_state = net.layers["TimeDropout1"].state()
    params = {k: v.copy() for k, v in net.params.items()}
    a = net.generate(np.array([0]), 50, rng=7, temperature=1.0)
    b = net.generate(np.array([0]), 50, rng=7, temperature=1.0)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) > 1
    np.testing.assert_array_equal(net.lstms[0].h, h)
    np.testing.assert_array_equal(net.lstms[0].c, c)
    assert net.layers["TimeDropout1"].state() == dropout_state
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, params[k])
    assert net.generate(np.array([0]), 0).shape == (0,)


def test_sample_id_follows_the_softmax_at_the_temperature():
    rng = np.random.default_rng(5)
    scores = np.array([0.0, 1.0, 2.0, -1.0])
    for temperature in (1.0, 0.5, 2.0):
        draws = np.array([sample_id(scores, temperature, rng) for _ in range(5000)])
        p = np.exp(scores / temperature)
        p /= p.sum()
        np.testing.assert_allclose(np.bincount(draws, minlength=4) / len(draws), p, atol=0.03)
    assert sample_id(scores, 0, rng) == 2
    assert sample_id(np.array([0.0, 1e4, 3.0]), 1e-3, rng) == 1  # a tiny temperature does not overflow


@pytest.mark.parametrize("kwargs, match", [
    (dict(start_ids=np.array([], dtype=np.int64), length=3), "non-empty 1-D array of integer ids"),
    (dict(start_ids=np.array([[1]]), length=3), "non-empty 1-D array of integer ids"),
    (dict(start_ids=np.array([1.0]), length=3), "non-empty 1-D array of integer ids"),
    (dict(start_ids=np.array([1]), length=-1), "length must be an integer >= 0"),
    (dict(start_ids=np.array([1]), length=3, temperature=-0.5), "temperature must be a finite number >= 0"),
    (dict(start_ids=np.array([1]), length=3, temperature=float("nan")), "temperature must be a finite"),
    (dict(start_ids=np.array([9]), length=3), r"id 9 is outside \[0, 7\)"),
])
def test_generate_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RnnLM(7, 4, 5, rng=0).generate(**kwargs)


def test_saved_weights_load_into_a_fresh_model(tmp_path):
    net = RnnLM(7, 4, 5, num_layers=2, rng=0)
    net.save_params(tmp_path / "lm.npz")
    other = RnnLM(7, 4, 5, num_layers=2, rng=1)
    other.load_params(tmp_path / "lm.npz")
    x = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
