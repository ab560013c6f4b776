"""A generated sequence-to-sequence task: addition problems such as ``"16+75"`` -> ``"91"``.

Every problem is a question, ``a+b`` left-aligned and padded with spaces to
``2 * max_digits + 1`` characters, and an answer, the start symbol ``_`` followed by
the sum, padded to ``max_digits + 2`` characters (the longest sum has one digit more
than the operands). With three digits (the textbook's task)::

    question "16+75  "    answer "_91  "
    question "582+7  "    answer "_589 "

A decoder is fed ``answer[:, :-1]`` and learns to predict ``answer[:, 1:]``.
"""

from typing import NamedTuple

import numpy as np

from bprop.datasets.text import Vocabulary
from bprop.layers.checks import check_int
from bprop.layers.rng import make_rng

#: padding, filling questions and answers to their fixed lengths
PAD = " "
#: the first character of every answer, the decoder's first input
START = "_"
#: the characters of the task, in sorted order: ' ' is id 0, '+' 1, '0'..'9' 2..11, '_' 12
ADDITION_VOCAB = Vocabulary(sorted(" +0123456789_"))


class AdditionProblems(NamedTuple):
    """Training and test problems as ids, and the vocabulary that decodes them."""

    #: (x, t): questions (N, 2*max_digits + 1) and answers (N, max_digits + 2), int64 ids
    train: tuple
    #: (x, t) of problems that are not in ``train``
    test: tuple
    #: :data:`ADDITION_VOCAB`; ``vocab.decode(x)`` gives the questions as text
    vocab: Vocabulary


def _draw_operands(rng, m, max_digits):
    """``m`` numbers whose digit count is uniform in 1..max_digits, then uniform among those."""
    digits = rng.integers(1, max_digits + 1, size=m)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return rng.integers(low, 10 ** digits)


def make_addition(n_train=45000, n_test=5000, max_digits=3, rng=None):
    """Distinct addition problems ``a+b``, split into training and test sets that share none.

    Each operand first draws its number of digits uniformly from 1..``max_digits`` and
    then its value uniformly among the numbers with that many digits (0..9 for one
    digit), so that short problems are not swamped by long ones as they would be if
    ``a`` and ``b`` were uniform in 0..999. Problems are drawn until ``n_train + n_test``
    distinct ones (``a+b`` and ``b+a`` count as two) are found; the first ``n_train``
    are the training set, the rest the test set. A repeat is drawn again, and there are
    few short problems (100 with two one-digit operands), so the longer ones end up more
    common: with the defaults about 15%, 33% and 52% of the operands have 1, 2 and 3 digits.

    Parameters
    ----------
    n_train, n_test : int >= 1
        At most half of the ``10**(2*max_digits)`` possible problems together.
    max_digits : int in 1..6
        Digits of the largest operand.
    rng : None, int or np.random.Generator

    Returns
    -------
    AdditionProblems ``(train, test, vocab)``, ``train = (x, t)``:
    x : (n_train, 2*max_digits + 1) int64, the questions; t : (n_train, max_digits + 2)
    int64, the answers with the start symbol first. ``vocab.decode`` turns them into text.
    """
    n_train = check_int("make_addition", "n_train", n_train)
    n_test = check_int("make_addition", "n_test", n_test)
    max_digits = check_int("make_addition", "max_digits", max_digits)
    if max_digits > 6:
        raise ValueError(f"make_addition: max_digits must be at most 6, got {max_digits}")
    total = n_train + n_test
    possible = 10 ** (2 * max_digits)
    if total > possible // 2:
        raise ValueError(f"make_addition: {total} problems asked for, but with max_digits={max_digits} there "
                         f"are {possible} in all; ask for at most half ({possible // 2})")
    rng = make_rng(rng)
    seen, problems = set(), []
    while len(problems) < total:
        m = 2 * (total - len(problems)) + 16
        for a, b in zip(_draw_operands(rng, m, max_digits).tolist(), _draw_operands(rng, m, max_digits).tolist()):
            if (a, b) not in seen:
                seen.add((a, b))
                problems.append((a, b))
                if len(problems) == total:
                    break
    q_len, a_len = 2 * max_digits + 1, max_digits + 2
    questions = "".join(f"{a}+{b}".ljust(q_len, PAD) for a, b in problems)
    answers = "".join((START + str(a + b)).ljust(a_len, PAD) for a, b in problems)
    x = ADDITION_VOCAB.encode(questions).reshape(total, q_len)
    t = ADDITION_VOCAB.encode(answers).reshape(total, a_len)
    return AdditionProblems((x[:n_train], t[:n_train]), (x[n_train:], t[n_train:]), ADDITION_VOCAB)
