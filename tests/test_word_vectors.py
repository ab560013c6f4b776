import numpy as np
import pytest

from bprop.datasets.words import WordVocabulary
from bprop.networks.word_vectors import analogy, cosine_similarity, most_similar, normalize_rows, pca_2d

VOCAB = WordVocabulary(["king", "queen", "man", "woman", "apple"])
#: king - man + woman = queen exactly; apple points elsewhere
VECS = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])


def test_cosine_similarity_hand_values_and_a_zero_vector():
    assert cosine_similarity([1.0, 0.0], [1.0, 1.0]) == pytest.approx(np.sqrt(0.5))
    assert cosine_similarity([2.0, 0.0], [-3.0, 0.0]) == pytest.approx(-1.0)
    assert cosine_similarity([0.0, 0.0], [1.0, 2.0]) == 0.0
    np.testing.assert_array_equal(normalize_rows(np.zeros((2, 3))), np.zeros((2, 3)))


def test_most_similar_ranks_by_cosine_and_leaves_the_word_out():
    near = most_similar("king", VOCAB, VECS, top=3)
    assert [w for w, _ in near] == ["man", "queen", "woman"]
    np.testing.assert_allclose([v for _, v in near], [np.sqrt(0.5), 0.5, 0.0], atol=1e-12)


def test_most_similar_values_are_the_cosines():
    near = dict(most_similar("king", VOCAB, VECS, top=4))
    assert set(near) == {"queen", "man", "woman", "apple"}
    for word, value in near.items():
        assert value == pytest.approx(cosine_similarity(VECS[0], VECS[VOCAB.index[word]]))
    values = [v for _, v in most_similar("king", VOCAB, VECS, top=4)]
    assert values == sorted(values, reverse=True)


def test_analogy_finds_queen_for_king_man_woman_and_excludes_the_question_words():
    answers = analogy("man", "king", "woman", VOCAB, VECS, top=2)
    assert answers[0][0] == "queen"
    assert {w for w, _ in answers} <= {"queen", "apple"}


def test_pca_2d_projects_on_the_axes_of_largest_variance():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2)) * [5.0, 1.0] @ np.array([[0.6, 0.8], [-0.8, 0.6]]) + 3.0
    x = np.hstack([x, 0.01 * rng.standard_normal((300, 3))])
    points = pca_2d(x)
    assert points.shape == (300, 2)
    np.testing.assert_allclose(points.mean(axis=0), 0.0, atol=1e-12)
    assert points[:, 0].std() > 4 * points[:, 1].std()
    np.testing.assert_allclose(points.var(axis=0).sum(), (x[:, :2] - x[:, :2].mean(0)).var(axis=0).sum(), rtol=1e-3)
    np.testing.assert_array_equal(pca_2d(x), points)


def test_pca_2d_sign_does_not_depend_on_the_rows_sign_flip():
    x = np.random.default_rng(1).standard_normal((20, 4))
    np.testing.assert_allclose(pca_2d(x), pca_2d(-x), atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: most_similar("prince", VOCAB, VECS), "most_similar: 'prince' is not in the vocabulary"),
    (lambda: most_similar("king", VOCAB, VECS[:3]), r"word_vecs must be \(V, H\) with V = 5 .* got shape \(3, 3\)"),
    (lambda: most_similar("king", VOCAB, VECS, top=0), "most_similar: top must be an integer >= 1, got 0"),
    (lambda: analogy("king", "queen", "boy", VOCAB, VECS), "analogy: 'boy' is not in the vocabulary"),
    (lambda: pca_2d(np.zeros((1, 3))), r"pca_2d: x must be \(n, H\) with n >= 2 and H >= 2, got shape \(1, 3\)"),
])
def test_word_vector_queries_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
