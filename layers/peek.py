"""Peek: a context vector appended to every time step (the peeky decoder of seq2seq)."""

import numpy as np

from .base import Layer, check_dout
from .checks import check_int


class Peek(Layer):
    """``y_t = [x_t, h]``: the same context ``h`` concatenated to the features of every step.

    In a peeky decoder (Cho et al., 2014; the textbook's ``PeekyDecoder``) the encoder's
    final state is not only the decoder's initial state but is also shown at every step,
    to the LSTM's input and to the output layer, so that it does not fade as the decoder
    runs. The context comes from outside the chain of layers: the network sets it with
    :meth:`set_context` before ``forward``, and collects its gradient, ``dcontext``, the
    sum over the steps, after ``backward``.

    Parameters
    ----------
    context_size : H, the length of the context vector.

    Shape
    -----
    x : (N, T, D), context : (N, H) -> y : (N, T, D + H); ``backward(dout)`` takes
    (N, T, D + H), returns dx (N, T, D) and sets ``dcontext (N, H)``.
    """

    def __init__(self, context_size):
        self.context_size = check_int("Peek", "context_size", context_size)
        self.context = None  # set by set_context, appended by every forward
        self.dcontext = None  # its gradient, set by backward
        self._shape = None

    def extra_repr(self):
        return f"context_size={self.context_size}"

    def output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self!r}: expects (T, D) per sample, got input shape {tuple(input_shape)}")
        return (input_shape[0], input_shape[1] + self.context_size)

    def set_context(self, h):
        """The context ``h (N, H)`` the next ``forward`` appends to every step (referenced)."""
        h = np.asarray(h)
        if h.ndim != 2 or h.shape[1] != self.context_size:
            raise ValueError(f"{self!r}: context must have shape (N, {self.context_size}), got {h.shape}")
        self.context = h

    def forward(self, x, train=True):
        x = np.asarray(x)
        h = self.context
        if h is None:
            raise ValueError(f"{self!r}: call set_context(h) before forward")
        if x.ndim != 3 or x.shape[0] != h.shape[0] or 0 in x.shape:
            raise ValueError(f"{self!r}: input must be a batch of {h.shape[0]} sequences (N, T, D) like the "
                             f"context {h.shape}, got shape {x.shape}")
        n, t, d = x.shape
        y = np.empty((n, t, d + self.context_size), dtype=np.result_type(x, h))
        y[:, :, :d] = x
        y[:, :, d:] = h[:, None, :]
        self._shape = x.shape
        return y

    def backward(self, dout):
        shape = self._need_cache(self._shape)
        n, t, d = shape
        check_dout(self, dout, (n, t, d + self.context_size))
        self.dcontext = dout[:, :, d:].sum(axis=1)
        return dout[:, :, :d].copy()
