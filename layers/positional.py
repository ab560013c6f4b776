"""Where a token is: a vector per position added to a batch of sequences, learnt or fixed.

Attention alone ignores the order of its inputs (permuting the positions permutes the
outputs), so a transformer adds to the ``t``-th input vector a vector that says ``t``.
"""

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int
from .init import gaussian_, init_scale
from .rng import make_rng


class _AddPositions(Layer):
    """What both position layers share: ``y[n, t] = x[n, t] + table[start + t]``, the checks
    of the input against ``max_len`` and ``dim``, and ``dx = dout``."""

    _positions = None  # (start, input shape) of the last forward

    def __init__(self, max_len, dim):
        owner = type(self).__name__
        self.max_len = check_int(owner, "max_len", max_len)
        self.dim = check_int(owner, "dim", dim)

    def extra_repr(self):
        return f"{self.max_len}, {self.dim}"

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.dim or input_shape[0] > self.max_len:
            raise ValueError(f"{self!r}: expects (T, {self.dim}) per sample with T <= {self.max_len}, "
                             f"got input shape {tuple(input_shape)}")
        return tuple(input_shape)

    def _rows(self, x, start):
        """The table rows of positions ``start, ..., start + T - 1`` for the input ``x``."""
        x = np.asarray(x)
        if x.ndim != 3 or 0 in x.shape or x.shape[2] != self.dim:
            raise ValueError(f"{self!r}: input must be a non-empty batch of sequences (N, T, {self.dim}), "
                             f"got shape {x.shape}")
        start = check_int(type(self).__name__, "start", start, low=0)
        t = x.shape[1]
        if start + t > self.max_len:
            raise ValueError(f"{self!r}: positions {start} to {start + t - 1} do not fit max_len={self.max_len} "
                             f"(a sequence of {start + t} is longer than the model's context)")
        self._positions = (start, x.shape)
        return self.table[start:start + t]

    def forward(self, x, train=True, start=0):
        """``x (N, T, D) + table[start:start + T]``; ``start`` > 0 continues a sequence
        whose first ``start`` positions were read before (generation with a cache)."""
        return x + self._rows(x, start)

    def backward(self, dout):
        _, shape = self._need_cache(self._positions)
        check_dout(self, dout, shape)
        return dout.copy()


class PositionalEmbedding(_AddPositions):
    """A learnt vector per position: ``y[n, t] = x[n, t] + P[t]`` (GPT-2's ``wpe``).

    ``P ~ N(0, s**2)`` with ``s`` from ``init`` and a fan-in of 1 (each output reads one
    row), as :class:`~bprop.layers.Embedding`: the default 'xavier' gives ``N(0, 1)``.
    The gradient of ``P[t]`` is the sum of ``dout[:, t]`` over the batch.

    Parameters
    ----------
    max_len : the longest sequence (the model's context size): rows of ``P``.
    dim : D, the width of the vectors.
    init : 'xavier' (default), 'he' or a positive std.
    rng : None, int or np.random.Generator for ``P``.
    dtype : np.float64 (default) or np.float32.

    Shape
    -----
    x : (N, T, D) with T <= max_len; y and dx the same. P : (max_len, D).

    Attributes
    ----------
    dP : (max_len, D) gradient set by ``backward`` (zero beyond the T positions read).
    """

    param_names = ("P",)
    decay_names = ("P",)
    fan_in = 1

    def __init__(self, max_len, dim, *, init="xavier", rng=None, dtype=np.float64):
        super().__init__(max_len, dim)
        init_scale(init, 1)  # checks the name or number
        self.P = np.empty((self.max_len, self.dim), dtype=check_dtype("PositionalEmbedding", dtype))
        gaussian_(self.P, init, self.fan_in, make_rng(rng))
        self.dP = None

    @property
    def table(self):
        return self.P

    def reset_parameters(self, init, rng):
        gaussian_(self.P, init, self.fan_in, rng)

    def backward(self, dout):
        dx = super().backward(dout)
        start, (_, t, _) = self._positions
        dP = self._grad_out("P")
        if dP is None:
            dP = np.zeros_like(self.P)
        else:
            dP[...] = 0
        np.sum(dout, axis=0, out=dP[start:start + t])  # dP[start + t] = sum over n of dout[n, t]
        self.dP = dP
        return dx


def sinusoid_table(max_len, dim, dtype=np.float64):
    """Vaswani et al. (2017): ``PE[t, 2i] = sin(t / 10000**(2i/dim))``,
    ``PE[t, 2i+1] = cos(t / 10000**(2i/dim))``; an odd ``dim`` ends with a sine column.

    Returns (max_len, dim) in ``dtype``, computed in float64.
    """
    t = np.arange(max_len, dtype=np.float64)[:, None]
    even = np.arange(0, dim, 2, dtype=np.float64)
    angle = t / np.power(10000.0, even / dim)  # (max_len, ceil(dim / 2))
    table = np.empty((max_len, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, :dim // 2])
    return table.astype(dtype)


class SinusoidalPositionalEncoding(_AddPositions):
    """A fixed vector per position, ``y[n, t] = x[n, t] + PE[t]`` with :func:`sinusoid_table`.

    Nothing is learnt: ``PE`` is computed once and is not saved with the weights. Each pair
    of columns is a sine and a cosine of one frequency, so ``PE[t + k]`` is a rotation of
    ``PE[t]`` that depends on ``k`` alone, which lets attention find relative offsets.

    Parameters
    ----------
    max_len : the longest sequence: rows of ``PE``.
    dim : D, the width of the vectors.
    dtype : np.float64 (default) or np.float32.

    Shape
    -----
    x : (N, T, D) with T <= max_len; y and dx the same. PE : (max_len, D).
    """

    def __init__(self, max_len, dim, dtype=np.float64):
        super().__init__(max_len, dim)
        self.PE = sinusoid_table(self.max_len, self.dim, check_dtype("SinusoidalPositionalEncoding", dtype))

    @property
    def table(self):
        return self.PE
