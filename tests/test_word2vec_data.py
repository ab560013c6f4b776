import numpy as np
import pytest

from bprop.datasets.word2vec_data import create_contexts_target


def test_create_contexts_target_hand_values_window_one():
    contexts, target = create_contexts_target(np.array([0, 1, 2, 3, 1, 4]), 1)
    np.testing.assert_array_equal(contexts, [[0, 2], [1, 3], [2, 1], [3, 4]])
    np.testing.assert_array_equal(target, [1, 2, 3, 1])
    assert contexts.dtype == target.dtype == np.int64


def test_create_contexts_target_hand_values_window_two_reads_left_to_right_without_the_centre():
    contexts, target = create_contexts_target(np.array([10, 11, 12, 13, 14, 15]), 2)
    np.testing.assert_array_equal(contexts, [[10, 11, 13, 14], [11, 12, 14, 15]])
    np.testing.assert_array_equal(target, [12, 13])


@pytest.mark.parametrize("window", [1, 3, 5])
def test_create_contexts_target_every_row_is_the_window_around_its_target(window):
    corpus = np.random.default_rng(window).integers(0, 50, size=40)
    contexts, target = create_contexts_target(corpus, window)
    assert contexts.shape == (40 - 2 * window, 2 * window)
    for n in range(len(target)):
        i = n + window
        np.testing.assert_array_equal(contexts[n], np.r_[corpus[i - window:i], corpus[i + 1:i + window + 1]])
        assert target[n] == corpus[i]


def test_create_contexts_target_accepts_other_integer_dtypes():
    contexts, target = create_contexts_target(np.array([1, 2, 3], dtype=np.uint8), 1)
    np.testing.assert_array_equal(contexts, [[1, 3]])
    assert contexts.dtype == np.int64 and target.dtype == np.int64


@pytest.mark.parametrize("corpus, window, message", [
    (np.arange(5), 0, "window_size must be an integer >= 1, got 0"),
    (np.arange(5), 1.0, "window_size must be an integer >= 1, got 1.0"),
    (np.arange(4), 2, "corpus must hold more than 2 \\* window_size = 4 words, got 4"),
    (np.arange(6).reshape(2, 3), 1, r"corpus must be a 1-D array of integer ids, got shape \(2, 3\)"),
    (np.array([0.0, 1.0, 2.0]), 1, "corpus must be .* dtype float64"),
])
def test_create_contexts_target_rejects_bad_input(corpus, window, message):
    with pytest.raises(ValueError, match="create_contexts_target: " + message):
        create_contexts_target(corpus, window)
