"""word2vec with negative sampling: CBOW (the context predicts the word) and skip-gram (the word
predicts its context), trained by the library's Trainer like any other model."""

from collections import OrderedDict

import numpy as np

from bprop.layers.checks import check_dtype, check_int, check_positive
from bprop.layers.embedding import Embedding
from bprop.layers.negative_sampling import NegativeSamplingLoss
from bprop.layers.rng import make_rng

from .state_dict import StateDictMixin


class Word2Vec(StateDictMixin):
    """What CBOW and skip-gram share: two word-vector matrices and the negative-sampling loss.

    ``W_in`` (V, H) holds the input vectors, read by an :class:`~bprop.layers.Embedding`;
    they are the word vectors one keeps (:attr:`word_vecs`). ``W_out`` (V, H) holds the output
    vectors, scored against the hidden vector ``h`` by
    :class:`~bprop.layers.negative_sampling.NegativeSamplingLoss`. Both start as
    ``0.01 * N(0, 1)``, as in the textbook (Saito, *Deep Learning from Scratch 2*, ch. 4).

    What the :class:`~bprop.optim.Trainer` asks of a model: ``params`` and the gradients of
    :meth:`loss_and_gradient`, dicts with the keys ``'W_in'`` and ``'W_out'`` (the layers
    hold the arrays of ``params``, so an optimizer's in-place update moves them);
    ``loss(x, t, train)``; ``state()``/``set_state()`` (the sampler's random stream, so that a
    checkpoint resumes bit for bit); ``state_dict``, ``save_params``, ``load_params``.

    Parameters
    ----------
    vocab_size : V, the number of word ids.
    hidden_size : H, the length of a word vector.
    window_size : w >= 1, words on each side of the target; a context holds 2w words.
    corpus : 1-D integer ids in [0, V), the training text: its word counts give the
        negative-sampling distribution.
    sample_size : negatives per target (default 5).
    power : exponent on the counts of the sampling distribution (default 0.75).
    dtype : np.float64 (default) or np.float32.
    rng : None, int or np.random.Generator, for the weights and then the negative samples.

    Shape
    -----
    x : contexts (N, 2w) int ids; t : targets (N,) int ids (:func:`create_contexts_target`).
    """

    #: the loss (nats, summed over the 1 + sample_size binary decisions) is what it is measured by
    default_metrics = ("loss",)

    def __init__(self, vocab_size, hidden_size, window_size, corpus, *, sample_size=5, power=0.75,
                 dtype=np.float64, rng=None):
        owner = type(self).__name__
        V = check_int(owner, "vocab_size", vocab_size)
        H = check_int(owner, "hidden_size", hidden_size)
        self.window_size = check_int(owner, "window_size", window_size)
        check_int(owner, "sample_size", sample_size)
        check_positive(owner, "power", power)
        self.dtype = check_dtype(owner, dtype)
        corpus = np.asarray(corpus)
        if corpus.ndim == 1 and corpus.size and corpus.dtype.kind in "iu" and corpus.max() >= V:
            raise ValueError(f"{owner}: corpus holds id {corpus.max()}, outside the vocabulary [0, {V})")
        rng = make_rng(rng)
        W_in = (0.01 * rng.standard_normal((V, H))).astype(self.dtype)
        W_out = (0.01 * rng.standard_normal((V, H))).astype(self.dtype)
        self.embedding = Embedding(W_in)
        self.ns_loss = NegativeSamplingLoss(W_out, corpus, power, sample_size, rng=rng)
        self.layers = OrderedDict([("Embedding", self.embedding), ("NegativeSampling", self.ns_loss)])
        self.params = {"W_in": W_in, "W_out": W_out}

    @property
    def vocab_size(self):
        return self.embedding.vocab_size

    @property
    def hidden_size(self):
        return self.embedding.dim

    @property
    def word_vecs(self):
        """(V, H), the input vectors: the word vectors word2vec learns."""
        return self.params["W_in"]

    def _check_batch(self, contexts, target):
        owner, C = type(self).__name__, 2 * self.window_size
        contexts, target = np.asarray(contexts), np.asarray(target)
        if contexts.ndim != 2 or contexts.shape[1] != C or contexts.dtype.kind not in "iu":
            raise ValueError(f"{owner}: contexts must be integer ids (N, 2 * window_size = {C}), got shape "
                             f"{contexts.shape} and dtype {contexts.dtype}")
        if target.shape != (len(contexts),) or target.dtype.kind not in "iu":
            raise ValueError(f"{owner}: target must be integer ids ({len(contexts)},), one per context, got "
                             f"shape {target.shape} and dtype {target.dtype}")
        return contexts, target

    def loss(self, x, t, train=False):
        """The mean negative-sampling loss of the contexts ``x`` and targets ``t`` (``train`` is
        accepted for the Trainer; the model behaves the same either way)."""
        contexts, target = self._check_batch(x, t)
        return self._forward(contexts, target)

    def loss_and_gradient(self, x, t):
        """``(loss, grads)``: one forward and one backward pass; ``grads`` has the keys of ``params``."""
        loss = self.loss(x, t, train=True)
        self._backward()
        return loss, {"W_in": self.embedding.dW, "W_out": self.ns_loss.dW}

    def state(self):
        """The negative sampler's random state (a copy)."""
        return {"sampler": self.ns_loss.state()}

    def set_state(self, state):
        self.ns_loss.set_state(state["sampler"])

    def n_params(self):
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self):
        return (f"{type(self).__name__}(vocab_size={self.vocab_size}, hidden_size={self.hidden_size}, "
                f"window_size={self.window_size}, sample_size={self.ns_loss.sample_size})")


class CBOW(Word2Vec):
    """Continuous bag of words: the mean of the context's vectors predicts the word in the middle.

    ``h = mean_j W_in[contexts[:, j]]``, then the negative-sampling loss of ``target`` given
    ``h``. Backward: each of the 2w context words receives ``dh / 2w``.
    """

    def _forward(self, contexts, target):
        h = self.embedding.forward(contexts).mean(axis=1)          # (N, 2w, H) -> (N, H)
        return self.ns_loss.forward(h, target)

    def _backward(self):
        dh = self.ns_loss.backward(1.0)                             # (N, H)
        n, h = dh.shape
        c = 2 * self.window_size
        self.embedding.backward(np.broadcast_to(dh[:, None, :] / c, (n, c, h)))


class SkipGram(Word2Vec):
    """Skip-gram: the vector of the word in the middle predicts each of its 2w context words.

    ``h = W_in[target]``; the loss is the sum over the 2w context positions of the
    negative-sampling loss of that position's word given ``h`` (each a mean over the batch,
    as the textbook sums its 2w loss layers). It is computed as one loss over the ``N * 2w``
    pairs (each ``h`` repeated for each of its context words), times 2w.
    """

    def _forward(self, contexts, target):
        c = contexts.shape[1]
        h = self.embedding.forward(target)                          # (N, H)
        h_each = np.repeat(h, c, axis=0)                            # row n * 2w + j predicts contexts[n, j]
        return c * self.ns_loss.forward(h_each, contexts.reshape(-1))

    def _backward(self):
        c = 2 * self.window_size
        dh_each = self.ns_loss.backward(float(c))                  # (N * 2w, H)
        self.embedding.backward(dh_each.reshape(-1, c, dh_each.shape[1]).sum(axis=1))
