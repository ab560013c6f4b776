import numpy as np
import pytest

from bprop.datasets import ADDITION_VOCAB, make_addition


def problems(x, t, vocab):
    """The (a, b, answer text) of every row, read back from the ids."""
    out = []
    for q, a in zip(vocab.decode(x), vocab.decode(t)):
        left, right = q.strip().split("+")
        out.append((int(left), int(right), a))
    return out


def test_addition_shapes_dtypes_and_vocabulary():
    (x, t), (xt, tt), vocab = make_addition(200, 50, rng=0)
    assert x.shape == (200, 7) and t.shape == (200, 5)
    assert xt.shape == (50, 7) and tt.shape == (50, 5)
    assert x.dtype == t.dtype == np.int64
    assert vocab is ADDITION_VOCAB
    assert vocab.chars == (" ", "+", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "_")
    np.testing.assert_array_equal(t[:, 0], vocab.index["_"])  # every answer starts with the start symbol


def test_every_answer_is_the_sum_padded_to_fixed_length():
    (x, t), _, vocab = make_addition(500, 10, rng=1)
    for a, b, answer in problems(x, t, vocab):
        assert 0 <= a <= 999 and 0 <= b <= 999
        assert answer == ("_" + str(a + b)).ljust(5)
    for q in vocab.decode(x):
        assert len(q) == 7 and q == q.rstrip().ljust(7) and " " not in q.rstrip()


def test_questions_look_like_the_textbook_examples():
    vocab = ADDITION_VOCAB
    x = vocab.encode("16+75  ").reshape(1, 7)
    assert vocab.decode(x) == ["16+75  "]
    (x, t), _, _ = make_addition(1000, 1, rng=2)
    assert any(q == "16+75  " or len(q.strip()) <= 5 for q in vocab.decode(x))


def test_train_and_test_share_no_problem_and_none_repeats():
    (x, t), (xt, tt), vocab = make_addition(9000, 1000, rng=3)
    train = set(vocab.decode(x))
    test = set(vocab.decode(xt))
    assert len(train) == 9000 and len(test) == 1000
    assert not train & test


def test_operands_of_every_length_are_common():
    (x, t), _, vocab = make_addition(45000, 5000, rng=4)
    lengths = np.array([[len(s) for s in q.strip().split("+")] for q in vocab.decode(x)])
    share = np.bincount(lengths.ravel(), minlength=4)[1:] / lengths.size
    # digit counts are drawn uniformly; the 100 one-digit sums run out first
    assert np.all(share > 0.12) and share[0] < share[1] < share[2], share


def test_same_seed_same_problems_other_seed_other_problems():
    a = make_addition(100, 20, rng=5)
    b = make_addition(100, 20, rng=5)
    c = make_addition(100, 20, rng=6)
    for u, v in zip(a.train + a.test, b.train + b.test):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.train[0], c.train[0])


def test_one_digit_problems_fill_up_to_half_of_all():
    (x, t), (xt, tt), vocab = make_addition(40, 10, max_digits=1, rng=7)
    assert x.shape == (40, 3) and t.shape == (40, 3)
    rows = problems(np.concatenate([x, xt]), np.concatenate([t, tt]), vocab)
    assert len({(a, b) for a, b, _ in rows}) == 50
    assert all(ans == ("_" + str(a + b)).ljust(3) for a, b, ans in rows)


def test_rejects_more_problems_than_half_of_those_that_exist():
    with pytest.raises(ValueError, match="with max_digits=1 there are 100 in all; ask for at most half \\(50\\)"):
        make_addition(50, 1, max_digits=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_train": 0}, "n_train must be an integer >= 1"),
    ({"n_test": 1.5}, "n_test must be an integer >= 1"),
    ({"max_digits": 7}, "max_digits must be at most 6"),
])
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_addition(**{"n_train": 10, "n_test": 10, **kwargs})
