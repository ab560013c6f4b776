"""EmbeddingDot: the score of a word against a hidden vector, ``s = W[idx] . h``."""

import numpy as np

from .base import check_dout
from .embedding import Embedding


class EmbeddingDot(Embedding):
    """``s[n] = W[idx[n]] . h[n]``: the row of each id dotted with that sample's hidden vector.

    The output layer of word2vec with negative sampling: instead of scoring every word of
    the vocabulary (``h @ W.T``, then a softmax over all V), only the few words asked for
    are scored, each by the dot product of its row of the output matrix with ``h``. With
    ``idx`` of shape ``(N, K)`` every sample scores K ids against its one ``h``:
    ``s[n, k] = W[idx[n, k]] . h[n]`` (the true word and its negative samples at once).

    The backward pass is the product rule: ``dh[n] = sum_k ds[n, k] * W[idx[n, k]]``, and
    row ``idx[n, k]`` of ``W`` receives ``ds[n, k] * h[n]``, added row by row (an
    :class:`Embedding`'s backward) so that an id picked several times gets all of its
    gradients.

    Built as an :class:`Embedding` is, with H for its D: ``EmbeddingDot(W)`` references the
    (V, H) array ``W``; ``EmbeddingDot(vocab_size, dim, init='xavier', rng=None,
    dtype=np.float64)`` draws it.

    Shape
    -----
    h : (N, H) floats; idx : (N,) or (N, K) integer ids in [0, V); s : the shape of idx.
    ``backward(ds)`` takes the shape of idx and returns dh (N, H).

    Attributes
    ----------
    dW : (V, H) gradient set by ``backward``.
    """

    #: its first input is the hidden vector, not ids: a network must not pass it uncast
    integer_input = False
    #: the cache of the last forward: h and W[idx]
    _h = _target_W = None

    def output_shape(self, input_shape):
        """One sample's scores have the shape of its ids (``()`` or ``(K,)``)."""
        return tuple(input_shape)

    def forward(self, h, idx, train=True):
        owner = repr(self)
        h = np.asarray(h)
        idx = np.asarray(idx)
        if h.ndim != 2 or h.dtype.kind != "f" or h.shape[1] != self.dim:
            raise ValueError(f"{owner}: h must be a float array (N, {self.dim}), got shape {h.shape} "
                             f"and dtype {h.dtype}")
        if idx.ndim not in (1, 2) or idx.shape[0] != h.shape[0]:
            raise ValueError(f"{owner}: idx must be (N,) or (N, K) with N = {h.shape[0]} (the rows of h), "
                             f"got shape {idx.shape}")
        target_W = super().forward(idx)               # W[idx], the ids checked: (N, H) or (N, K, H)
        h_each = h if idx.ndim == 1 else h[:, None, :]  # one h per id
        self._h, self._target_W = h, target_W
        return np.sum(target_W * h_each, axis=-1)

    def backward(self, dout):
        h, target_W = self._need_cache(self._h), self._target_W
        dout = check_dout(self, np.asarray(dout), target_W.shape[:-1])
        ds = dout[..., None]                          # (N, 1) or (N, K, 1)
        dh = ds * target_W
        if dh.ndim == 3:
            dh = dh.sum(axis=1)                       # every id's share of dh[n]
        h_each = h if target_W.ndim == 2 else h[:, None, :]
        super().backward(ds * h_each)                 # dW[idx] += ds * h
        return dh
