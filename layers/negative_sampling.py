"""NegativeSamplingLoss: word2vec's output layer, the true word against a few sampled ones."""

import numpy as np

from .base import Layer
from .checks import check_int, check_positive
from .embedding_dot import EmbeddingDot
from .functional import sigmoid
from .unigram_sampler import UnigramSampler


class NegativeSamplingLoss(Layer):
    """Binary logistic loss of the true word (label 1) and ``sample_size`` negatives (label 0).

    For each sample ``n`` with hidden vector ``h[n]`` and target word ``t[n]``, the
    :class:`UnigramSampler` draws ``k = sample_size`` negative words ``w[n, 1..k]`` (never
    ``t[n]``); each of the ``1 + k`` words is scored by :class:`EmbeddingDot`,
    ``s = W[word] . h[n]``, and the loss is that of a sigmoid on each score, summed over the
    ``1 + k`` words as the textbook sums its ``1 + k`` SigmoidWithLoss layers, and averaged
    over the batch::

        L = 1/N * sum_n [ -log sigmoid(s[n, 0]) - sum_{i=1..k} log(1 - sigmoid(s[n, i])) ]

    computed as ``log(1 + exp(-s))`` and ``log(1 + exp(s))`` with ``np.logaddexp``, which
    cannot overflow (``1 - sigmoid(s) = sigmoid(-s)``). Its gradient is the sigmoid's
    ``dL/ds = (sigmoid(s) - label) / N``, which :class:`EmbeddingDot` turns into ``dh`` and
    the gradient of the rows of ``W`` that were used.

    Parameters
    ----------
    W : (V, H) float array, the output word vectors (referenced, not copied).
    corpus : 1-D integer ids in [0, V), whose counts give the sampling distribution.
    power : float > 0, exponent on the counts (default 0.75).
    sample_size : int >= 1, negatives per target (default 5).
    rng : None, int or np.random.Generator, for the negative samples.

    Shape
    -----
    h : (N, H) floats; target : (N,) integer ids; ``forward`` returns the float loss,
    ``backward(dout=1.0)`` returns dh (N, H).

    Attributes
    ----------
    dW : (V, H) gradient set by ``backward``; ``negative_sample`` : (N, k) the ids the last
    forward drew; ``embed_dot``, ``sampler`` : the two parts.
    """

    param_names = ("W",)
    decay_names = ("W",)

    def __init__(self, W, corpus, power=0.75, sample_size=5, *, rng=None):
        owner = type(self).__name__
        check_int(owner, "sample_size", sample_size)
        check_positive(owner, "power", power)
        self.embed_dot = EmbeddingDot(W)
        self.sampler = UnigramSampler(corpus, power, sample_size, vocab_size=self.embed_dot.vocab_size, rng=rng)
        self.negative_sample = None
        self._y = self._label = None

    @property
    def W(self):
        return self.embed_dot.W

    @W.setter
    def W(self, value):
        self.embed_dot.W = value

    dW = property(lambda self: self.embed_dot.dW, doc="The gradient of ``W``, set by backward.")
    sample_size = property(lambda self: self.sampler.sample_size, doc="Negatives drawn per target.")

    def extra_repr(self):
        V, H = self.W.shape
        return f"{V}, {H}, sample_size={self.sample_size}, power={self.sampler.power:g}"

    def forward(self, h, target, train=True):
        h, target = np.asarray(h), np.asarray(target)
        if target.ndim != 1 or h.ndim != 2 or len(target) != len(h):
            raise ValueError(f"{self!r}: h must be (N, H) and target (N,), got shapes {h.shape} and {target.shape}")
        negative = self.sampler.get_negative_sample(target)                 # (N, k)
        words = np.concatenate([target[:, None], negative], axis=1)          # (N, 1 + k): true word first
        label = np.zeros(words.shape, dtype=h.dtype)
        label[:, 0] = 1.0
        s = self.embed_dot.forward(h, words)                                 # s = W[words] . h
        sign = 2.0 * label - 1.0                                             # +1 true, -1 negative
        loss = np.sum(np.logaddexp(0.0, -sign * s)) / len(h)                 # -log sigmoid(sign * s)
        self.negative_sample, self._y, self._label = negative, sigmoid(s), label
        return float(loss)

    def backward(self, dout=1.0):
        y = self._need_cache(self._y)
        ds = dout * (y - self._label) / len(y)
        return self.embed_dot.backward(ds)

    def state(self):
        """The sampler's random state: ``set_state(state())`` draws the same negatives again."""
        return self.sampler.state()

    def set_state(self, state):
        self.sampler.set_state(state)
