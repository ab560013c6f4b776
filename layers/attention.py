"""Attention of a decoder over an encoder's hidden states (Bahdanau et al., 2015; Luong et al., 2015).

At one decoder step, with the encoder's states ``hs (N, T, H)`` and the decoder's state
``h (N, H)``, attention scores every encoder step by its dot product with ``h``, turns
the scores into weights that sum to one, and returns the weighted sum of the encoder's
states, the *context* ``c``::

    s_t = hs_t . h          a = softmax(s)          c = sum_t a_t hs_t

(Luong's "dot" score, as in the textbook, Saito, *Deep Learning from Scratch 2*, ch. 8).
:class:`AttentionWeight` computes ``a``, :class:`WeightSum` computes ``c`` from ``a``,
:class:`Attention` chains the two and :class:`~bprop.layers.time_attention.TimeAttention`
does it at every decoder step at once. These layers take two inputs, so a network calls
them itself, as :class:`bprop.networks.attention_seq2seq.AttentionSeq2seq` does, rather
than chaining them in a :class:`~bprop.networks.Sequential`. They have no parameters;
``backward`` returns the gradients of both inputs as a tuple of new arrays.
"""

import numpy as np

from .base import Layer, check_dout
from .functional import softmax


def check_states(layer, name, hs):
    """``hs`` as a non-empty floating-point (N, T, H) array, or a ValueError naming ``layer``."""
    hs = np.asarray(hs)
    if hs.ndim != 3 or 0 in hs.shape or hs.dtype.kind != "f":
        raise ValueError(f"{layer!r}: {name} must be a non-empty floating-point array (N, T, H), "
                         f"got shape {hs.shape} and dtype {hs.dtype}")
    return hs


def check_partner(layer, name, x, shape, spelled, hs):
    """``x`` as a floating-point array of ``shape`` (``spelled`` in letters) to go with the
    encoder states ``hs``, or a ValueError naming ``layer``, both shapes and what was expected."""
    x = np.asarray(x)
    if x.shape != shape or x.dtype.kind != "f":
        raise ValueError(f"{layer!r}: {name} must be a floating-point array of shape {spelled} = {shape} "
                         f"to go with hs of shape {hs.shape}, got shape {x.shape} and dtype {x.dtype}")
    return x


def softmax_backward(a, da, axis=-1):
    """Gradient of the scores from that of ``a = softmax(s)`` along ``axis``:
    ``ds = a * (da - sum(da * a))``, the Jacobian ``diag(a) - a a^T`` applied without building it."""
    return a * (da - np.sum(da * a, axis=axis, keepdims=True))


def states_shape(layer, input_shape):
    """One sample's encoder states shape ``(T, H)``, or a ValueError naming ``layer``."""
    if len(input_shape) != 2:
        raise ValueError(f"{layer!r}: expects encoder states (T, H) per sample, got shape {tuple(input_shape)}")
    return tuple(input_shape)


class AttentionWeight(Layer):
    """How much each encoder step matters to one decoder step: ``a = softmax_t(hs_t . h)``.

    The scores are the dot products ``s_t = sum_k hs[n, t, k] h[n, k]``; the softmax runs
    along the T steps with the largest score subtracted first, so no score overflows.
    Backward: ``ds = a * (da - sum_t da_t a_t)``, then ``dhs_t = ds_t h`` and
    ``dh = sum_t ds_t hs_t``.

    Shape
    -----
    ``forward(hs, h)``: hs : (N, T, H), h : (N, H) -> a : (N, T), each row summing to 1.
    ``backward(da)``: da : (N, T) -> ``(dhs (N, T, H), dh (N, H))``.

    Attributes
    ----------
    attention_weight : (N, T), the ``a`` of the last forward.
    """

    def __init__(self):
        self.attention_weight = None
        self._cache = None

    def output_shape(self, input_shape):
        """``(T,)`` for one sample's encoder states of shape ``(T, H)``."""
        return (states_shape(self, input_shape)[0],)

    def forward(self, hs, h):
        hs = check_states(self, "hs", hs)
        n, _, size = hs.shape
        h = check_partner(self, "h", h, (n, size), "(N, H)", hs)
        a = softmax(np.sum(hs * h[:, None, :], axis=2), axis=1)
        self._cache = (hs, h)
        self.attention_weight = a
        return a

    def backward(self, da):
        hs, h = self._need_cache(self._cache)
        a = self.attention_weight
        check_dout(self, da, a.shape)
        ds = softmax_backward(a, da, axis=1)
        dhs = ds[:, :, None] * h[:, None, :]
        dh = np.sum(ds[:, :, None] * hs, axis=1)
        return dhs, dh


class WeightSum(Layer):
    """The context, a weighted sum of the encoder's states: ``c = sum_t a_t hs_t``.

    Backward: ``dhs_t = a_t dc`` and ``da_t = hs_t . dc``.

    Shape
    -----
    ``forward(hs, a)``: hs : (N, T, H), a : (N, T) -> c : (N, H).
    ``backward(dc)``: dc : (N, H) -> ``(dhs (N, T, H), da (N, T))``.
    """

    def __init__(self):
        self._cache = None

    def output_shape(self, input_shape):
        """``(H,)`` for one sample's encoder states of shape ``(T, H)``."""
        return (states_shape(self, input_shape)[1],)

    def forward(self, hs, a):
        hs = check_states(self, "hs", hs)
        a = check_partner(self, "a", a, hs.shape[:2], "(N, T)", hs)
        self._cache = (hs, a)
        return np.sum(hs * a[:, :, None], axis=1)

    def backward(self, dc):
        hs, a = self._need_cache(self._cache)
        check_dout(self, dc, (hs.shape[0], hs.shape[2]))
        dhs = a[:, :, None] * dc[:, None, :]
        da = np.sum(hs * dc[:, None, :], axis=2)
        return dhs, da


class Attention(Layer):
    """One decoder step's attention: ``a = AttentionWeight(hs, h)``, ``c = WeightSum(hs, a)``.

    ``hs`` reaches the context along two paths (it is scored and it is summed), so its
    gradient is the sum of the two layers' ``dhs``; ``h`` only through the weights.

    Shape
    -----
    ``forward(hs, h)``: hs : (N, T, H), h : (N, H) -> c : (N, H).
    ``backward(dc)``: dc : (N, H) -> ``(dhs (N, T, H), dh (N, H))``.

    Attributes
    ----------
    attention_weight : (N, T), the weights ``a`` of the last forward.
    weight_layer, sum_layer : the :class:`AttentionWeight` and :class:`WeightSum` inside.
    """

    def __init__(self):
        self.weight_layer = AttentionWeight()
        self.sum_layer = WeightSum()
        self.attention_weight = None
        self._shape = None  # hs.shape of the last forward

    def output_shape(self, input_shape):
        """``(H,)`` for one sample's encoder states of shape ``(T, H)``."""
        return (states_shape(self, input_shape)[1],)

    def forward(self, hs, h):
        hs = check_states(self, "hs", hs)
        check_partner(self, "h", h, (hs.shape[0], hs.shape[2]), "(N, H)", hs)
        a = self.weight_layer.forward(hs, h)
        self.attention_weight, self._shape = a, hs.shape
        return self.sum_layer.forward(hs, a)

    def backward(self, dc):
        n, _, size = self._need_cache(self._shape)
        check_dout(self, dc, (n, size))
        dhs_sum, da = self.sum_layer.backward(dc)
        dhs_weight, dh = self.weight_layer.backward(da)
        return dhs_sum + dhs_weight, dh
