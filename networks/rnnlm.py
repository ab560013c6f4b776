"""A recurrent language model: Embedding -> LSTM (one or more) -> Affine, built on Sequential."""

import math

import numpy as np

from bprop.layers import (
    TiedTimeAffine,
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeLSTM,
    TimeSoftmaxWithLoss,
    make_rng,
)
from bprop.layers.checks import check_dtype, check_int

from .sequential import Sequential


def sample_id(scores, temperature, rng):
    """One id drawn from ``softmax(scores / temperature)``; the argmax when ``temperature`` is 0.

    ``scores (V,)``. The softmax is taken in float64 with the maximum subtracted, and the
    id is found by inverting the cumulative distribution with one uniform number, so any
    temperature > 0 works (a tiny one approaches the argmax without overflowing).
    """
    if temperature == 0:
        return int(np.argmax(scores))
    z = np.asarray(scores, dtype=np.float64) / temperature
    p = np.exp(z - z.max())
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(cdf) - 1))


def check_prompt(owner, name, ids):
    """``ids`` as an array if it is a non-empty 1-D array of integer ids, else a ValueError
    naming ``owner``, the argument ``name``, the shape and the dtype it got."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu":
        raise ValueError(f"{owner}: {name} must be a non-empty 1-D array of integer ids, got "
                         f"shape {ids.shape} and dtype {ids.dtype}")
    return ids


def check_temperature(owner, temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"{owner}: temperature must be a finite number >= 0 (0: greedy), got {temperature!r}")
    return float(temperature)


class RnnLM(Sequential):
    """A language model over characters (or words): the next id's scores at every step.

    ``TimeEmbedding -> [TimeDropout] -> (TimeLSTM -> [TimeDropout]) x num_layers -> TimeAffine``
    with :class:`~bprop.layers.TimeSoftmaxWithLoss` as the loss: the mean over every
    position of ``-log p(next id)``, in nats. Dropout sits between layers, never on the
    recurrent connections (Zaremba et al., 2014). The LSTMs are stateful: consecutive
    windows of :class:`bprop.datasets.BPTTBatches` continue each other, and
    :meth:`reset_state` starts every stream afresh (once per epoch).

    A :class:`Sequential` built from sizes: ``params``, ``loss_and_gradient``,
    ``state_dict``, ``save_params``, ``gradient_check`` work as for any network. The
    keys are ``W1`` (the embedding), ``Wx1, Wh1, b1, ...`` (the LSTMs), then ``W2, b2``
    (the output layer; only ``b2`` when the weights are tied).

    Parameters
    ----------
    vocab_size : V, the number of ids.
    embed_size : D, the embedding dimension (default 64).
    hidden_size : H, the units of every LSTM (default 256).
    num_layers : stacked LSTMs (default 1).
    dropout : ratio in [0, 1) of every TimeDropout (default 0: none).
    tie_weights : bool; the output layer uses the embedding matrix transposed
        (:class:`~bprop.layers.TiedTimeAffine`), which needs ``embed_size == hidden_size``.
    dtype : np.float64 (default) or np.float32.
    rng : None, int or np.random.Generator, for the weights and the dropout masks.

    Initial weights: embedding ``N(0, 1)`` (PyTorch's), LSTM ``N(0, 1/fan_in)`` (the
    textbook's Xavier), output layer ``N(0, 1/H)``; biases 0.

    Shape
    -----
    x : (N, T) int ids -> scores (N, T, V); targets t : (N, T), the ids that follow.
    Any T: the ``input_shape`` of the network is one step, ``(1,)``, for the shapes shown.
    """

    def __init__(self, vocab_size, embed_size=64, hidden_size=256, num_layers=1, dropout=0.0,
                 tie_weights=False, dtype=np.float64, rng=None):
        owner = type(self).__name__
        v = check_int(owner, "vocab_size", vocab_size)
        d = check_int(owner, "embed_size", embed_size)
        h = check_int(owner, "hidden_size", hidden_size)
        check_int(owner, "num_layers", num_layers)
        dtype = check_dtype(owner, dtype)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"{owner}: dropout must be a ratio in [0, 1), got {dropout!r}")
        if tie_weights and d != h:
            raise ValueError(f"{owner}: tie_weights needs embed_size == hidden_size (the output layer is the "
                             f"embedding transposed), got embed_size={d} and hidden_size={h}")
        rng = make_rng(rng)
        self.vocab_size, self.embed_size, self.hidden_size = v, d, h
        self.num_layers, self.dropout, self.tie_weights = int(num_layers), float(dropout), bool(tie_weights)

        embedding = TimeEmbedding(v, d, rng=rng, dtype=dtype)
        layers = [embedding]
        for i in range(self.num_layers):
            if self.dropout:
                layers.append(TimeDropout(self.dropout, rng=rng))
            layers.append(TimeLSTM(d if i == 0 else h, h, stateful=True, rng=rng, dtype=dtype))
        if self.dropout:
            layers.append(TimeDropout(self.dropout, rng=rng))
        layers.append(TiedTimeAffine(embedding) if self.tie_weights
                      else TimeAffine(h, v, init="xavier", rng=rng, dtype=dtype))
        super().__init__(layers, loss=TimeSoftmaxWithLoss(), input_shape=(1,), dtype=dtype, rng=rng)
        self.embedding, self.output = embedding, layers[-1]
        self.lstms = [layer for layer in self.layers.values() if isinstance(layer, TimeLSTM)]

    def backward(self, dout):
        super().backward(dout)
        if self.tie_weights:
            # E is used twice, as the embedding and (transposed) as the output weights:
            # its gradient is the sum of both, the second added after the embedding's
            # backward has written the first.
            self.embedding.dW += self.output.dW.T

    #: a language model is measured by its loss in nats per id and its perplexity
    default_metrics = ("loss", "perplexity")

    def n_predictions(self, x, t):
        """One prediction per position: the loss is the mean over every id of ``t``."""
        return t.size

    def reset_state(self):
        """Forget the LSTMs' carried state: the next window starts from zeros."""
        for lstm in self.lstms:
            lstm.reset_state()

    def generate(self, start_ids, length, rng=None, temperature=1.0):
        """``length`` new ids that follow ``start_ids``, one at a time.

        The model reads ``start_ids`` from a zero state, then repeatedly draws the next
        id from ``softmax(scores / temperature)`` and feeds it back in: temperature 1
        samples from the model, lower values sharpen the distribution toward its most
        likely ids, and 0 is greedy (always the most likely id). Evaluation mode (no
        dropout). The carried training state is put back afterwards, so generating
        between epochs does not disturb truncated BPTT.

        Parameters
        ----------
        start_ids : (L,) int ids, L >= 1, e.g. ``vocab.encode("ROMEO:")``.
        length : int >= 0, ids to generate.
        rng : None, int or np.random.Generator (not used when temperature is 0).
        temperature : float >= 0.

        Returns
        -------
        ids : (length,) int64, the generated ids only (not ``start_ids``).
        """
        owner = f"{type(self).__name__}.generate"
        start_ids = check_prompt(owner, "start_ids", start_ids)
        length = check_int(owner, "length", length, low=0)
        temperature = check_temperature(owner, temperature)
        rng = make_rng(rng)
        saved = self.state()
        self.reset_state()
        try:
            scores = self.predict(start_ids[None, :])[0, -1]
            out = np.empty(length, dtype=np.int64)
            for i in range(length):
                out[i] = sample_id(scores, temperature, rng)
                scores = self.predict(out[None, i:i + 1])[0, -1]
        finally:
            self.set_state(saved)
        return out
