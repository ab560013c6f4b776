"""CBOW and SkipGram: gradients, hand-computed losses, the Trainer's protocol (a checkpoint
resumed bit for bit) and, on a corpus whose co-occurrences are known, that the vectors learn them."""

import numpy as np
import pytest

from bprop.datasets.word2vec_data import create_contexts_target
from bprop.layers.gradcheck import assert_gradients_close, numerical_gradient
from bprop.networks.word2vec import CBOW, SkipGram
from bprop.networks.word_vectors import most_similar, normalize_rows
from bprop.optim import SGD, Adam, Trainer

MODELS = [CBOW, SkipGram]
#: the generated corpus: GROUPS topics of GROUP_SIZE words each; a sentence uses one topic's words
GROUPS, GROUP_SIZE = 8, 5


def topic_corpus(rng, sentences=600, length=10):
    """Sentences of ``length`` words, each drawn from the words of one topic (ids ``g * GROUP_SIZE
    ... g * GROUP_SIZE + GROUP_SIZE - 1``), the topics in random order: words of a topic co-occur,
    words of two topics meet only across a sentence boundary."""
    topics = rng.integers(0, GROUPS, size=sentences)
    return np.concatenate([g * GROUP_SIZE + rng.integers(0, GROUP_SIZE, size=length) for g in topics])


class Words:
    """The vocabulary interface of most_similar for ids named by themselves."""

    def __init__(self, n):
        self.words = [str(i) for i in range(n)]
        self.index = {w: i for i, w in enumerate(self.words)}


def random_params(model, rng):
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape)


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("window, n", [(1, 1), (1, 4), (2, 3)])
def test_word2vec_gradients_match_numerical_with_a_fixed_sample(model_class, window, n):
    rng = np.random.default_rng(window * 10 + n)
    corpus = rng.integers(0, 7, size=30)
    model = model_class(7, 4, window, corpus, sample_size=3, rng=1)
    random_params(model, rng)
    contexts, target = create_contexts_target(corpus, window)
    x, t = contexts[:n], target[:n]
    state = model.state()
    _, grads = model.loss_and_gradient(x, t)
    analytic = {k: g.copy() for k, g in grads.items()}

    def f():
        model.set_state(state)  # the same negatives in every evaluation
        return model.loss(x, t, train=True)

    assert_gradients_close(analytic, {k: numerical_gradient(f, p, 1e-6) for k, p in model.params.items()})


def test_cbow_loss_is_the_negative_sampling_loss_of_the_mean_context_vector():
    rng = np.random.default_rng(0)
    corpus = rng.integers(0, 9, size=40)
    model = CBOW(9, 3, 2, corpus, sample_size=2, rng=0)
    random_params(model, rng)
    contexts, target = create_contexts_target(corpus, 2)
    x, t = contexts[:4], target[:4]
    loss = model.loss(x, t)
    W_in, W_out, neg = model.params["W_in"], model.params["W_out"], model.ns_loss.negative_sample
    h = (W_in[x[:, 0]] + W_in[x[:, 1]] + W_in[x[:, 2]] + W_in[x[:, 3]]) / 4
    expected = 0.0
    for n in range(4):
        expected += np.log1p(np.exp(-W_out[t[n]] @ h[n]))
        expected += sum(np.log1p(np.exp(W_out[w] @ h[n])) for w in neg[n])
    assert loss == pytest.approx(expected / 4, rel=1e-12)


def test_skipgram_loss_sums_the_batch_mean_losses_of_the_context_positions():
    rng = np.random.default_rng(1)
    corpus = rng.integers(0, 9, size=40)
    model = SkipGram(9, 3, 1, corpus, sample_size=2, rng=0)
    random_params(model, rng)
    contexts, target = create_contexts_target(corpus, 1)
    x, t = contexts[:3], target[:3]
    loss = model.loss(x, t)
    W_in, W_out = model.params["W_in"], model.params["W_out"]
    neg = model.ns_loss.negative_sample.reshape(3, 2, 2)  # (sample, context position, negative)
    expected = 0.0
    for j in range(2):  # the textbook's one loss layer per context position, each a mean over the batch
        per_sample = [np.log1p(np.exp(-W_out[x[n, j]] @ W_in[t[n]]))
                      + sum(np.log1p(np.exp(W_out[w] @ W_in[t[n]])) for w in neg[n, j]) for n in range(3)]
        expected += np.mean(per_sample)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert not np.any(neg == x[:, :, None])  # no context word is its own negative


@pytest.mark.parametrize("model_class", MODELS)
def test_word2vec_params_and_grads_share_keys_and_the_layers_hold_the_params(model_class):
    corpus = np.random.default_rng(0).integers(0, 6, size=30)
    model = model_class(6, 4, 1, corpus, rng=0)
    contexts, target = create_contexts_target(corpus, 1)
    _, grads = model.loss_and_gradient(contexts, target)
    assert set(grads) == set(model.params) == {"W_in", "W_out"}
    SGD(lr=0.1).update(model.params, grads)
    assert model.embedding.W is model.params["W_in"] and model.ns_loss.W is model.params["W_out"]
    assert model.word_vecs is model.params["W_in"]
    assert model.n_params() == 2 * 6 * 4
    assert model.state_dict().keys() == {"W_in", "W_out"}


def test_word2vec_initial_weights_are_small_and_seeded():
    corpus = np.arange(50) % 10
    a, b = CBOW(10, 20, 2, corpus, rng=3), CBOW(10, 20, 2, corpus, rng=3)
    np.testing.assert_array_equal(a.params["W_in"], b.params["W_in"])
    assert 0.005 < a.params["W_out"].std() < 0.015  # 0.01 * N(0, 1), as in the textbook


@pytest.mark.parametrize("model_class", MODELS)
def test_word2vec_float32_model_stays_float32(model_class):
    corpus = np.arange(40) % 8
    model = model_class(8, 4, 2, corpus, dtype=np.float32, rng=0)
    contexts, target = create_contexts_target(corpus, 2)
    _, grads = model.loss_and_gradient(contexts, target)
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("model_class", MODELS)
def test_word2vec_learns_which_words_co_occur(model_class):
    """After 5 epochs (under a second) on 6000 words of 8 topics, the cosine of two words of one
    topic is on average more than 0.5 above that of two words of different topics, and every
    word's 4 nearest neighbours are the other words of its topic."""
    corpus = topic_corpus(np.random.default_rng(0))
    contexts, target = create_contexts_target(corpus, 2)
    model = model_class(GROUPS * GROUP_SIZE, 16, 2, corpus, rng=0)
    Trainer(model, Adam(lr=1e-2), (contexts, target), epochs=5, batch_size=50, rng=0, verbose=0).fit()
    unit = normalize_rows(model.word_vecs)
    cos = unit @ unit.T
    group = np.arange(GROUPS * GROUP_SIZE) // GROUP_SIZE
    same = (group[:, None] == group[None, :]) & ~np.eye(len(group), dtype=bool)
    apart = group[:, None] != group[None, :]
    assert cos[same].mean() - cos[apart].mean() > 0.5, (cos[same].mean(), cos[apart].mean())
    words = Words(len(group))
    for i in range(len(group)):
        near = {int(w) for w, _ in most_similar(str(i), words, model.word_vecs, top=GROUP_SIZE - 1)}
        assert near == set(np.flatnonzero(group == group[i])) - {i}, (i, near)


@pytest.mark.parametrize("model_class", MODELS)
def test_word2vec_checkpoint_resumes_bit_for_bit(model_class, tmp_path):
    """Two epochs in one run, and one epoch then a resume from its checkpoint, end with the same
    weights: the checkpoint holds the negative sampler's random state with the weights."""
    corpus = topic_corpus(np.random.default_rng(1), sentences=60)
    data = create_contexts_target(corpus, 2)

    def trainer(epochs, **kwargs):
        model = model_class(GROUPS * GROUP_SIZE, 8, 2, corpus, rng=5)
        return model, Trainer(model, Adam(lr=1e-2), data, epochs=epochs, batch_size=32, rng=7, verbose=0,
                              eval_train=False, **kwargs)

    straight, run = trainer(2)
    history = run.fit()
    path = tmp_path / "w2v.ckpt"
    trainer(1, checkpoint=path)[1].fit()
    resumed, run = trainer(2, checkpoint=path, resume=True)
    again = run.fit()
    for key in straight.params:
        np.testing.assert_array_equal(resumed.params[key], straight.params[key])
    assert again["train_loss"] == history["train_loss"]


def test_word2vec_repr():
    model = SkipGram(10, 4, 3, np.arange(10), sample_size=2)
    assert repr(model) == "SkipGram(vocab_size=10, hidden_size=4, window_size=3, sample_size=2)"


@pytest.mark.parametrize("kwargs, message", [
    ({"vocab_size": 0}, "CBOW: vocab_size must be an integer >= 1, got 0"),
    ({"hidden_size": 2.5}, "CBOW: hidden_size must be an integer >= 1, got 2.5"),
    ({"window_size": 0}, "CBOW: window_size must be an integer >= 1, got 0"),
    ({"sample_size": 0}, "CBOW: sample_size must be an integer >= 1, got 0"),
    ({"power": 0.0}, "CBOW: power must be a finite number > 0, got 0.0"),
    ({"dtype": np.float16}, "CBOW: dtype must be float32 or float64, got float16"),
    ({"corpus": np.array([0, 1, 10])}, r"CBOW: corpus holds id 10, outside the vocabulary \[0, 10\)"),
    ({"corpus": np.array([1.0, 2.0])}, "UnigramSampler: corpus must be a non-empty 1-D array of integer ids"),
])
def test_word2vec_rejects_bad_arguments(kwargs, message):
    args = {"vocab_size": 10, "hidden_size": 4, "window_size": 2, "corpus": np.arange(10)} | kwargs
    with pytest.raises(ValueError, match=message):
        CBOW(**args)


@pytest.mark.parametrize("x, t, message", [
    (np.zeros((3, 2), dtype=int), np.zeros(3, dtype=int), r"contexts must be integer ids \(N, 2 \* window_size = 4\), "
                                                           r"got shape \(3, 2\)"),
    (np.zeros((3, 4)), np.zeros(3, dtype=int), "contexts must be .* dtype float64"),
    (np.zeros((3, 4), dtype=int), np.zeros(2, dtype=int), r"target must be integer ids \(3,\), one per context, "
                                                           r"got shape \(2,\)"),
    (np.zeros((3, 4), dtype=int), np.zeros((3, 1), dtype=int), r"target must be .* got shape \(3, 1\)"),
])
def test_word2vec_rejects_bad_batches_naming_the_model(x, t, message):
    with pytest.raises(ValueError, match="SkipGram: " + message):
        SkipGram(10, 4, 2, np.arange(10)).loss(x, t)


def test_word2vec_rejects_ids_outside_the_vocabulary():
    model = CBOW(10, 4, 1, np.arange(10))
    with pytest.raises(ValueError, match=r"Embedding\(10, 4\): id 12 is outside \[0, 10\)"):
        model.loss(np.array([[1, 12]]), np.array([3]))
    with pytest.raises(ValueError, match=r"target id 11 is outside \[0, 10\)"):
        model.loss(np.array([[1, 2]]), np.array([11]))
