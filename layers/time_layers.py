"""Layers applied at every time step of a batch of sequences (N, T, ...): Affine, Dropout, loss.

Each one treats the N*T positions as one big batch, so it costs one matrix product or
one mask, not T of them.
"""

import numpy as np

from .affine import Affine
from .base import Layer, check_dout
from .checks import is_size
from .dropout import Dropout
from .functional import check_targets, softmax_cross_entropy_checked


def _check_sequences(layer, x, width=None):
    """x as a non-empty (N, T, width) array, or a ValueError naming ``layer``."""
    x = np.asarray(x)
    if x.ndim != 3 or 0 in x.shape or (width is not None and x.shape[2] != width):
        want = f"(N, T, {width})" if width is not None else "(N, T, D)"
        raise ValueError(f"{layer!r}: input must be a non-empty batch of sequences {want}, got shape {x.shape}")
    return x


class TimeAffine(Affine):
    """:class:`Affine` at every time step, ``y_t = x_t W + b``, as one product over N*T rows.

    ``TimeAffine(W, b)`` or ``TimeAffine(in_features, out_features, init='he', rng=None,
    dtype=np.float64)``, as :class:`Affine`.

    Shape
    -----
    x : (N, T, D) -> y : (N, T, M); ``backward(dout)`` returns dx : (N, T, D)
    (None when ``input_grad`` is False). W : (D, M), b : (M,).
    """

    _nt = None  # (N, T) of the last forward

    def output_shape(self, input_shape):
        d, m = self.W.shape
        if len(input_shape) != 2 or input_shape[1] != d:
            raise ValueError(f"{self!r}: expects (T, {d}) per sample, got input shape {tuple(input_shape)}")
        return (input_shape[0], m)

    def forward(self, x, train=True):
        x = _check_sequences(self, x, self.W.shape[0])
        n, t, d = x.shape
        self._nt = (n, t)
        return super().forward(x.reshape(n * t, d), train).reshape(n, t, -1)

    def backward(self, dout):
        n, t = self._need_cache(self._nt)
        check_dout(self, dout, (n, t, self.W.shape[1]))
        dx = super().backward(dout.reshape(n * t, -1))
        return None if dx is None else dx.reshape(n, t, -1)


class TimeDropout(Dropout):
    """:class:`Dropout` on a batch of sequences: an independent mask for every element.

    ``y = x * m / (1 - ratio)`` with ``m ~ Bernoulli(1 - ratio)`` drawn for every sample,
    step and feature, in training only. Placed between layers (not on the recurrent
    connections), this is the dropout of Zaremba et al. (2014) and of the textbook.

    Shape: x : (N, T, D); y and dx the same.
    """

    def output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self!r}: expects (T, D) per sample, got input shape {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, x, train=True):
        return super().forward(_check_sequences(self, x), train)


class TimeSoftmaxWithLoss(Layer):
    """Softmax cross-entropy at every time step, averaged over every position that counts.

    ``forward(x, t)`` returns ``L = -1/K * sum_{(n, s): t[n, s] != ignore_label}
    log softmax(x[n, s])[t[n, s]]``, with K the number of such positions, computed
    through log-softmax (:func:`bprop.layers.functional.softmax_cross_entropy`), so
    large logits stay finite. ``backward(dout=1)`` returns
    ``dx = dout * (softmax(x) - onehot(t)) / K`` at those positions and 0 at the others.

    Parameters
    ----------
    ignore_label : int or None (default)
        Positions whose label equals it (padding) add nothing to the loss nor the
        gradient. If every position is ignored, the loss is 0 and so is dx.

    Shape
    -----
    x : (N, T, V) scores; t : (N, T) integer labels in [0, V) (or ``ignore_label``);
    dx : (N, T, V).

    Attributes
    ----------
    y : (K, V) softmax at the counted positions; loss : float; count : K.
    """

    #: the metrics a network with this loss is evaluated with by default
    default_metrics = ("loss", "accuracy")

    def __init__(self, ignore_label=None):
        if ignore_label is not None and not is_size(ignore_label):
            raise ValueError(f"TimeSoftmaxWithLoss: ignore_label must be an integer or None, got {ignore_label!r}")
        self.ignore_label = None if ignore_label is None else int(ignore_label)
        self.y = self.loss = self.count = self._t = self._mask = self._shape = None

    def extra_repr(self):
        return "" if self.ignore_label is None else f"ignore_label={self.ignore_label}"

    def forward(self, x, t, train=True):
        x = _check_sequences(self, x)
        t = np.asarray(t)
        if t.shape != x.shape[:2]:
            raise ValueError(f"{self!r}: labels must have shape {x.shape[:2]} (N, T) for scores {x.shape}, "
                             f"got {t.shape}")
        n, steps, v = x.shape
        x2, t2 = x.reshape(n * steps, v), t.reshape(-1)
        mask = None
        if self.ignore_label is not None and t.dtype.kind in "iu":
            mask = t2 != self.ignore_label
            x2, t2 = x2[mask], t2[mask]
        self._mask, self._shape = mask, x.shape
        self.count = len(t2)
        if self.count == 0:
            self.y, self._t, self.loss = np.zeros((0, v), dtype=x.dtype), t2, 0.0
            return self.loss
        t2, _ = check_targets(repr(self), t2, self.count, v)
        self.loss, self.y = softmax_cross_entropy_checked(x2, t2, True)
        self._t = t2
        return self.loss

    def backward(self, dout=1.0):
        y = self._need_cache(self.y)
        k = self.count
        dy = y.copy()
        if k:
            dy[np.arange(k), self._t] -= 1.0
            dy *= dout / k
        if self._mask is None:
            return dy.reshape(self._shape)
        dx = np.zeros((self._mask.size, self._shape[2]), dtype=y.dtype)
        dx[self._mask] = dy
        return dx.reshape(self._shape)


class TiedTimeAffine(TimeAffine):
    """The output layer of a language model that reuses its embedding: ``y_t = x_t E^T + b``.

    Weight tying (Press and Wolf, 2017; Inan et al., 2017): the score of id ``v`` is the
    dot product of the hidden state with ``v``'s own embedding row ``E[v]``, so one
    matrix ``E (V, D)`` is learnt for both ends of the network, and the input size of this
    layer must equal the embedding's dimension D.

    ``W`` is not a parameter of this layer but a read-only view, ``embedding.W.T``, taken
    at every call, so it follows the embedding when a network moves ``E`` into its
    parameter buffer and when an optimizer updates it. Only ``b`` is this layer's own.
    ``backward`` sets ``dW (D, V)`` as an Affine does; since ``E`` gets gradient from both
    places, whoever chains the two layers adds ``dW.T`` to the embedding's ``dW`` after
    the embedding's backward (:class:`bprop.networks.RnnLM` does).

    Parameters
    ----------
    embedding : an :class:`~bprop.layers.Embedding` (or TimeEmbedding), referenced.
    b : (V,) array or None (zeros in the embedding's dtype).

    Shape
    -----
    x : (N, T, D) -> y : (N, T, V).
    """

    param_names = ("b",)
    decay_names = ()

    def __init__(self, embedding, b=None, input_grad=True):
        if not hasattr(embedding, "W") or not getattr(embedding, "integer_input", False):
            raise ValueError(f"TiedTimeAffine: needs an Embedding to share its weights with, got {embedding!r}")
        v = embedding.W.shape[0]
        b = np.zeros(v, dtype=embedding.W.dtype) if b is None else np.asarray(b)
        if b.shape != (v,) or b.dtype != embedding.W.dtype:
            raise ValueError(f"TiedTimeAffine: b must have shape ({v},) and dtype {embedding.W.dtype} like "
                             f"{embedding!r}, got {b.shape} and {b.dtype}")
        self.embedding = embedding
        self.b = b
        self.input_grad = input_grad
        self.dW = self.db = None  # gradients, set by backward
        self._x = self._x_shape = None  # kept by forward for backward

    @property
    def W(self):
        return self.embedding.W.T

    def extra_repr(self):
        return super().extra_repr() + f", tied to {self.embedding!r}"

    def reset_parameters(self, init, rng):
        self.b[...] = 0  # the weights are the embedding's, drawn by it
