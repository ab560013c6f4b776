import numpy as np
import pytest

from bprop.layers.unigram_sampler import UnigramSampler

#: word i occurs COUNTS[i] times (word 2 never)
COUNTS = np.array([1, 3, 0, 10, 40, 200])


def corpus_of(counts, rng):
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def test_unigram_sampler_probabilities_are_counts_to_the_power_075():
    sampler = UnigramSampler(corpus_of(COUNTS, np.random.default_rng(0)), power=0.75)
    expected = COUNTS ** 0.75 / np.sum(COUNTS ** 0.75)
    np.testing.assert_allclose(sampler.word_p, expected, rtol=1e-12)
    np.testing.assert_array_equal(sampler.counts, COUNTS)
    assert sampler.word_p[2] == 0.0  # a word that never occurs is never drawn


def test_unigram_sampler_power_one_is_the_plain_unigram_distribution():
    sampler = UnigramSampler(np.array([0, 1, 1, 3]), power=1.0, vocab_size=5)
    np.testing.assert_allclose(sampler.word_p, [0.25, 0.5, 0.0, 0.25, 0.0])


def test_unigram_sampler_draws_follow_word_p_given_the_target_within_five_standard_errors():
    """Targets of every word; the expected frequency of word j over all draws is the mean over
    rows of P(j) / (1 - P(target)) for rows whose target is not j (rejection of the positive)."""
    rng = np.random.default_rng(1)
    sampler = UnigramSampler(corpus_of(COUNTS, rng), sample_size=5, rng=2)
    target = rng.choice([0, 1, 3, 4, 5], size=40_000)
    sample = sampler.get_negative_sample(target)
    n = sample.size
    p = sampler.word_p
    given = p[None, :] / (1.0 - p[target])[:, None]
    given[np.arange(len(target)), target] = 0.0
    expected = given.mean(axis=0)
    observed = np.bincount(sample.ravel(), minlength=len(COUNTS)) / n
    tolerance = 5 * np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(observed - expected) <= tolerance), (observed, expected, tolerance)
    assert observed[2] == 0.0


def test_unigram_sampler_never_returns_the_positive_target_of_a_row():
    rng = np.random.default_rng(3)
    sampler = UnigramSampler(corpus_of(COUNTS, rng), sample_size=10, rng=4)
    for target in (rng.choice([0, 1, 3, 4, 5], size=5000), np.full(5000, 5)):  # 5: P = 0.5
        sample = sampler.get_negative_sample(target)
        assert sample.shape == (5000, 10) and sample.dtype == np.int64
        assert not np.any(sample == target[:, None])


def test_unigram_sampler_of_two_words_always_draws_the_other_one():
    sampler = UnigramSampler(np.array([0, 1, 1, 1, 1, 1, 1]), sample_size=3, rng=0)
    np.testing.assert_array_equal(sampler.get_negative_sample(np.array([1, 0])), [[0, 0, 0], [1, 1, 1]])


def test_unigram_sampler_is_seeded_and_its_state_repeats_the_draws():
    corpus = corpus_of(COUNTS, np.random.default_rng(0))
    target = np.array([0, 4, 5, 5])
    a = UnigramSampler(corpus, rng=7).get_negative_sample(target)
    b = UnigramSampler(corpus, rng=7)
    np.testing.assert_array_equal(a, b.get_negative_sample(target))
    state = b.state()
    again = b.get_negative_sample(target)
    b.set_state(state)
    np.testing.assert_array_equal(b.get_negative_sample(target), again)


def test_unigram_sampler_repr():
    sampler = UnigramSampler(np.array([0, 1, 2]), power=0.5, sample_size=2)
    assert repr(sampler) == "UnigramSampler(vocab_size=3, power=0.5, sample_size=2)"


@pytest.mark.parametrize("corpus, message", [
    (np.array([[0, 1]]), r"corpus must be a non-empty 1-D array of integer ids, got shape \(1, 2\)"),
    (np.array([0.0, 1.0]), "corpus must be .* dtype float64"),
    (np.array([], dtype=int), r"corpus must be .* got shape \(0,\)"),
    (np.array([0, -2, 1]), "corpus holds the negative id -2"),
    (np.array([3, 3, 3]), "the corpus must hold at least two distinct words .* only id 3"),
])
def test_unigram_sampler_rejects_a_bad_corpus(corpus, message):
    with pytest.raises(ValueError, match="UnigramSampler: " + message):
        UnigramSampler(corpus)


@pytest.mark.parametrize("kwargs, message", [
    ({"power": 0}, "power must be a finite number > 0, got 0"),
    ({"power": float("nan")}, "power must be a finite number > 0, got nan"),
    ({"sample_size": 0}, "sample_size must be an integer >= 1, got 0"),
    ({"sample_size": 2.0}, "sample_size must be an integer >= 1, got 2.0"),
    ({"vocab_size": 2}, "vocab_size is 2, but the corpus holds id 2"),
])
def test_unigram_sampler_rejects_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match="UnigramSampler: " + message):
        UnigramSampler(np.array([0, 1, 2]), **kwargs)


@pytest.mark.parametrize("target, message", [
    (np.array([0, 3]), r"target id 3 is outside \[0, 3\)"),
    (np.array([-1]), r"target id -1 is outside"),
    (np.array([[0, 1]]), r"target must be a non-empty 1-D array of integer ids, got shape \(1, 2\)"),
    (np.array([0.0]), "target must be .* dtype float64"),
])
def test_unigram_sampler_rejects_bad_targets_naming_itself(target, message):
    sampler = UnigramSampler(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"UnigramSampler\(vocab_size=3, .*\): " + message):
        sampler.get_negative_sample(target)
