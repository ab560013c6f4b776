"""A GPT: a decoder-only transformer language model, built on Sequential, with cached generation."""

import numpy as np

from bprop.layers import TiedTimeAffine, TimeAffine, TimeDropout, TimeEmbedding, TimeSoftmaxWithLoss, make_rng
from bprop.layers.checks import check_dtype, check_int
from bprop.layers.layernorm import LayerNorm
from bprop.layers.multihead_attention import check_dropout
from bprop.layers.positional import PositionalEmbedding
from bprop.layers.transformer_block import TransformerBlock

from .rnnlm import check_prompt, check_temperature, sample_id
from .sequential import Sequential

#: the standard deviation of the token and position embeddings at the start (GPT-2's)
EMBEDDING_STD = 0.02


def top_k_scores(scores, k):
    """``scores (V,)`` with every score below the k-th largest set to ``-inf`` (ties at the
    k-th kept), so that a draw from their softmax picks one of the k most likely ids."""
    if k is None or k >= scores.shape[-1]:
        return scores
    kth = np.partition(scores, scores.shape[-1] - k)[scores.shape[-1] - k]
    return np.where(scores < kth, -np.inf, scores)


class GPT(Sequential):
    """Radford et al. (2018, 2019): causal self-attention over the ids read so far predicts the next.

    ``TimeEmbedding + PositionalEmbedding -> [TimeDropout] -> TransformerBlock x num_layers
    (pre-norm, causal) -> LayerNorm -> TimeAffine`` with :class:`~bprop.layers.TimeSoftmaxWithLoss`:
    the loss is the mean over every position of ``-log p(next id)``, in nats. Every position
    is a prediction, each seeing only the ids up to itself, so one window of T ids trains T
    predictions at once; windows are independent (no state is carried), and the model reads
    at most ``context_size`` ids.

    A :class:`Sequential` built from sizes: ``params``, ``loss_and_gradient``, ``state_dict``,
    ``save_params`` / ``load_params`` and ``gradient_check`` work as for any network, and the
    :class:`~bprop.optim.Trainer` trains it on :class:`~bprop.datasets.BPTTBatches` as it
    trains :class:`RnnLM`. Keys: ``W1`` (token embedding), ``P1`` (positions), per block
    ``gamma, beta, Wqkv, bqkv, Wo, bo, gamma, beta, W, b, W, b``, then the final LayerNorm's
    ``gamma, beta`` and the output layer's ``W, b`` (only ``b`` when tied), numbered in order.

    Parameters
    ----------
    vocab_size : V, the number of ids.
    context_size : C, the longest sequence the model reads (rows of the position table).
    embed_dim : E, the width of the residual stream (default 128).
    num_heads : H, heads of every attention, must divide E (default 4).
    num_layers : transformer blocks (default 4).
    tie_weights : bool; the output layer is the token embedding transposed
        (:class:`~bprop.layers.TiedTimeAffine`): one array, whose gradient is the sum of both uses.
    dropout : ratio in [0, 1) of the dropout after the embeddings and inside every block.
    gelu_approximate : 'none' (default, the exact GELU) or 'tanh' (GPT-2's form, a fraction of
        the cost), the MLPs' activation (:class:`~bprop.layers.TransformerBlock`).
    rng : None, int or np.random.Generator, for the weights and the dropout masks.
    dtype : np.float64 (default) or np.float32.

    Initial weights: embeddings ``N(0, 0.02**2)`` (GPT-2's), the blocks' and the output
    layer's matrices ``N(0, 1/fan_in)``, biases 0, LayerNorms gamma 1 and beta 0.

    Shape
    -----
    x : (N, T) int ids, T <= C -> scores (N, T, V); targets t : (N, T), the ids that follow.
    """

    #: a language model is measured by its loss in nats per id and its perplexity
    default_metrics = ("loss", "perplexity")

    def __init__(self, vocab_size, context_size, embed_dim=128, num_heads=4, num_layers=4, tie_weights=False,
                 dropout=0.0, gelu_approximate="none", rng=None, dtype=np.float64):
        owner = type(self).__name__
        v = check_int(owner, "vocab_size", vocab_size)
        c = check_int(owner, "context_size", context_size)
        e = check_int(owner, "embed_dim", embed_dim)
        h = check_int(owner, "num_heads", num_heads)
        if e % h:
            raise ValueError(f"{owner}: embed_dim={e} is not divisible by num_heads={h}")
        n_layers = check_int(owner, "num_layers", num_layers)
        dropout = check_dropout(owner, dropout)
        if tie_weights not in (True, False):
            raise ValueError(f"{owner}: tie_weights must be True or False, got {tie_weights!r}")
        dtype = check_dtype(owner, dtype)
        rng = make_rng(rng)
        self.vocab_size, self.context_size, self.embed_dim = v, c, e
        self.num_heads, self.num_layers, self.tie_weights, self.dropout = h, n_layers, bool(tie_weights), dropout

        embedding = TimeEmbedding(v, e, init=EMBEDDING_STD, rng=rng, dtype=dtype)
        positions = PositionalEmbedding(c, e, init=EMBEDDING_STD, rng=rng, dtype=dtype)
        blocks = [TransformerBlock(e, h, dropout=dropout, causal=True, gelu_approximate=gelu_approximate, rng=rng,
                                   dtype=dtype) for _ in range(n_layers)]
        norm = LayerNorm(e, dtype=dtype)
        output = TiedTimeAffine(embedding) if tie_weights else TimeAffine(e, v, init="xavier", rng=rng, dtype=dtype)
        layers = [embedding, positions] + ([TimeDropout(dropout, rng=rng)] if dropout else []) + blocks + [norm, output]
        super().__init__(layers, loss=TimeSoftmaxWithLoss(), input_shape=(1,), dtype=dtype, rng=rng)
        self.embedding, self.positions, self.blocks, self.norm, self.output = embedding, positions, blocks, norm, output

    def n_predictions(self, x, t):
        """One prediction per position: the loss is the mean over every id of ``t``."""
        return t.size

    def _check_ids(self, owner, ids, start=0):
        ids = np.asarray(ids)
        if ids.ndim != 2 or 0 in ids.shape or ids.dtype.kind not in "iu":
            raise ValueError(f"{owner}: ids must be a non-empty batch of sequences of integer ids (N, T), "
                             f"got shape {ids.shape} and dtype {ids.dtype}")
        if start + ids.shape[1] > self.context_size:
            raise ValueError(f"{owner}: a sequence of {start + ids.shape[1]} ids is longer than "
                             f"context_size={self.context_size}")
        return ids

    def predict(self, x, train=False):
        """Scores (N, T, V) of the id that follows each position of ``x (N, T)``."""
        return super().predict(self._check_ids(type(self).__name__, x), train)

    def backward(self, dout):
        super().backward(dout)
        if self.tie_weights:
            # E is read twice, as the embedding and (transposed) as the output weights:
            # its gradient is the sum of both, the second added after the embedding's
            # backward has written the first.
            self.embedding.dW += self.output.dW.T

    # --- generation -------------------------------------------------------------------
    @property
    def cache_length(self):
        """How many positions of each sequence the key/value caches hold."""
        return self.blocks[0].attn.cache_length

    def reset_cache(self):
        """Empty every block's key/value cache."""
        for block in self.blocks:
            block.reset_cache()

    def forward_cached(self, ids):
        """Scores (N, m, V) of the id after each of ``ids (N, m)``, which continue the sequences
        whose keys and values the blocks keep (none after :meth:`reset_cache`).

        In evaluation mode. Equals ``predict(whole)[:, -m:]`` for the whole sequences read since
        the reset, while only the m new positions are computed; the whole sequences must fit
        the context.
        """
        start = self.cache_length
        ids = self._check_ids(f"{type(self).__name__}.forward_cached", ids, start)
        x = self.positions.forward(self.embedding.forward(ids, False), False, start=start)
        for block in self.blocks:
            x = block.forward_cached(x)
        return self.output.forward(self.norm.forward(x, False), False)

    def generate(self, prompt_ids, length, temperature=1.0, top_k=None, rng=None, use_cache=True):
        """``length`` new ids that follow ``prompt_ids``, one at a time.

        Each id is drawn from ``softmax(scores / temperature)`` of the scores the model gives
        the last position (0: the most likely id), restricted to the ``top_k`` most likely
        ids when given, and appended. The model reads the last ``context_size`` ids. With
        ``use_cache`` each block keeps the keys and values of the positions read, so a new id
        costs one position instead of the whole context; once the sequence outgrows the
        context the window slides, and the window is read afresh for every new id. Without,
        every id reads its whole window again: the same ids, slower. Evaluation mode.

        Parameters
        ----------
        prompt_ids : (L,) int ids, L >= 1.
        length : int >= 0, ids to generate.
        temperature : float >= 0.
        top_k : None or int >= 1.
        rng : None, int or np.random.Generator (not used when temperature is 0).
        use_cache : bool, default True.

        Returns
        -------
        ids : (length,) int64, the generated ids only.
        """
        owner = f"{type(self).__name__}.generate"
        prompt = check_prompt(owner, "prompt_ids", prompt_ids)
        length = check_int(owner, "length", length, low=0)
        temperature = check_temperature(owner, temperature)
        top_k = check_int(owner, "top_k", top_k, allow_none=True)
        rng = make_rng(rng)
        c = self.context_size
        ids = np.concatenate([prompt.astype(np.int64), np.empty(length, dtype=np.int64)])
        end = prompt.size

        def scores_of_last(new):
            if use_cache and self.cache_length + new <= c:
                return self.forward_cached(ids[None, end - new:end])[0, -1]
            if use_cache:  # the window slides: its positions change, the cache is read afresh
                self.reset_cache()
                return self.forward_cached(ids[None, max(end - c, 0):end])[0, -1]
            return self.predict(ids[None, max(end - c, 0):end])[0, -1]

        self.reset_cache()
        try:
            scores = scores_of_last(min(end, c) if use_cache else 0)
            for i in range(length):
                ids[end] = sample_id(top_k_scores(scores, top_k), temperature, rng)
                end += 1
                if i + 1 < length:
                    scores = scores_of_last(1)
        finally:
            self.reset_cache()
        return ids[prompt.size:]
