"""UnigramSampler: negative samples for word2vec, drawn from the smoothed unigram distribution."""

import numpy as np

from .checks import check_int, check_positive
from .rng import make_rng


class UnigramSampler:
    """Draw words with probability ``P(w) = count(w)**power / sum_v count(v)**power``.

    Negative sampling (Mikolov et al., 2013) trains the true word against a few words drawn
    at random; drawing them by frequency raised to ``power = 0.75`` (rather than 1) gives
    rare words a larger share than their counts and frequent words a smaller one. Each
    row's negatives are drawn independently and with replacement (as word2vec.c does); a
    draw that hits that row's positive target is drawn again, so a row never gets its own
    target back and every other word keeps its probability relative to the rest:
    ``P(w | w != target) = P(w) / (1 - P(target))``. (The textbook draws each row without
    replacement, one ``np.random.choice`` per row; these draws are batched.)

    Parameters
    ----------
    corpus : 1-D integer array of word ids >= 0, the text the counts come from.
    power : float > 0, the exponent on the counts (default 0.75).
    sample_size : int >= 1, negatives per target (default 5).
    vocab_size : int, optional; V, the number of ids (default ``corpus.max() + 1``). Ids that
        never occur in the corpus have probability 0.
    rng : None, int or np.random.Generator.

    Attributes
    ----------
    word_p : (V,) float64, the probability of each id; ``counts`` : (V,) int64.
    rng : the generator every draw uses (its state is what a checkpoint keeps).

    Shape
    -----
    ``get_negative_sample(target)``: target (N,) ids -> (N, sample_size) int64 ids.
    """

    def __init__(self, corpus, power=0.75, sample_size=5, *, vocab_size=None, rng=None):
        owner = type(self).__name__
        corpus = np.asarray(corpus)
        if corpus.ndim != 1 or corpus.size == 0 or corpus.dtype.kind not in "iu":
            raise ValueError(f"{owner}: corpus must be a non-empty 1-D array of integer ids, got shape "
                             f"{corpus.shape} and dtype {corpus.dtype}")
        if corpus.min() < 0:
            raise ValueError(f"{owner}: corpus holds the negative id {corpus.min()}")
        self.power = check_positive(owner, "power", power)
        self.sample_size = check_int(owner, "sample_size", sample_size)
        least = int(corpus.max()) + 1
        self.vocab_size = least if vocab_size is None else check_int(owner, "vocab_size", vocab_size)
        if self.vocab_size < least:
            raise ValueError(f"{owner}: vocab_size is {self.vocab_size}, but the corpus holds id {least - 1}")
        self.counts = np.bincount(corpus, minlength=self.vocab_size).astype(np.int64)
        if np.count_nonzero(self.counts) < 2:
            raise ValueError(f"{owner}: the corpus must hold at least two distinct words (a negative sample "
                             f"is a word other than the target), it holds only id {int(corpus[0])}")
        weights = self.counts.astype(np.float64) ** self.power
        self.word_p = weights / weights.sum()
        self.rng = make_rng(rng)

    def get_negative_sample(self, target):
        """``sample_size`` ids per row of ``target``, drawn from ``word_p``, never the row's target."""
        target = np.asarray(target)
        if target.ndim != 1 or target.size == 0 or target.dtype.kind not in "iu":
            raise ValueError(f"{self!r}: target must be a non-empty 1-D array of integer ids, got shape "
                             f"{target.shape} and dtype {target.dtype}")
        if target.min() < 0 or target.max() >= self.vocab_size:
            bad = target.min() if target.min() < 0 else target.max()
            raise ValueError(f"{self!r}: target id {bad} is outside [0, {self.vocab_size})")
        shape = (len(target), self.sample_size)
        sample = self.rng.choice(self.vocab_size, size=shape, p=self.word_p)
        hit = sample == target[:, None]
        while hit.any():  # rejection: a draw equal to its row's target is drawn again
            sample[hit] = self.rng.choice(self.vocab_size, size=int(hit.sum()), p=self.word_p)
            hit = sample == target[:, None]
        return sample.astype(np.int64, copy=False)

    def state(self):
        """The generator's state, a copy: ``set_state(state())`` repeats the next draws."""
        return {"rng": self.rng.bit_generator.state}

    def set_state(self, state):
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self):
        return f"UnigramSampler(vocab_size={self.vocab_size}, power={self.power:g}, sample_size={self.sample_size})"
