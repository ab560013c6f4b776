"""Multi-head scaled dot-product self-attention, PyTorch's ``nn.MultiheadAttention`` on (N, T, E)."""

import math
import numbers

import numpy as np

from .attention_mask import attention_bias
from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_sequences
from .dropout import Dropout
from .init import gaussian_, init_scale
from .parallel import matmul
from .rng import make_rng
from .softmax_layer import Softmax
from .transformer_weights import attention_from_torch, attention_to_torch


def check_dropout(owner, ratio):
    """``ratio`` as a float in [0, 1), or a ValueError ``'{owner}: dropout must be ...'``."""
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not 0.0 <= ratio < 1.0:
        raise ValueError(f"{owner}: dropout must be a ratio in [0, 1), got {ratio!r}")
    return float(ratio)


def _heads(a, n, t, h):
    """(N*T, H*d) rows -> (N, H, T, d): one sequence of d-vectors per head."""
    return a.reshape(n, t, h, -1).transpose(0, 2, 1, 3)


def _rows(a):
    """(N, H, T, d) -> (N*T, H*d): the heads side by side again, row per position."""
    n, h, t, d = a.shape
    return a.transpose(0, 2, 1, 3).reshape(n * t, h * d)


class MultiHeadAttention(Layer):
    """Self-attention with H heads: every position reads a weighted mean of every position's values.

    With ``x (N, T, E)``, ``d = E / H`` and the heads taken as column blocks of width d::

        [Q | K | V] = x Wqkv + bqkv                      (each (N, T, E), split into H heads)
        A_h = softmax(Q_h K_h^T / sqrt(d) + mask)        (N, H, T, T), over the keys
        y = concat_h(dropout(A_h) V_h) Wo + bo

    (Vaswani et al., 2017). The masks (``causal``, ``attn_mask``, ``key_padding_mask``) are
    those of PyTorch, see :mod:`bprop.layers.attention_mask`. The softmax subtracts each
    row's maximum, so large scores cannot overflow. Backward, with ``S`` the scaled scores
    and ``G = dL/dA``: ``dS = A * (G - sum_keys(G * A))``, ``dQ = dS K / sqrt(d)``,
    ``dK = dS^T Q / sqrt(d)``, ``dV = dropout(A)^T dY_h``.

    The parameters are PyTorch's, transposed to bprop's ``x W`` convention:
    ``Wqkv = in_proj_weight.T``, ``bqkv = in_proj_bias``, ``Wo = out_proj.weight.T``,
    ``bo = out_proj.bias``; see :func:`bprop.layers.transformer_weights.attention_from_torch`.

    Parameters
    ----------
    embed_dim : E, the width of the input and output vectors.
    num_heads : H, must divide E.
    dropout : ratio in [0, 1) of the dropout on the attention weights, in training only.
    causal : bool, default False. True: position t attends to positions <= t only.
    init : 'xavier' (default: ``N(0, 1/E)``), 'he' or a positive std of Wqkv and Wo; biases 0.
    rng : None, int or np.random.Generator, for the weights and the dropout masks.
    dtype : np.float64 (default) or np.float32.

    Shape
    -----
    x : (N, T, E) -> y : (N, T, E); ``backward`` returns dx (N, T, E).
    Wqkv : (E, 3E), bqkv : (3E,), Wo : (E, E), bo : (E,).

    Attributes
    ----------
    dWqkv, dbqkv, dWo, dbo : gradients set by ``backward``.
    """

    param_names = ("Wqkv", "bqkv", "Wo", "bo")
    decay_names = ("Wqkv", "Wo")

    def __init__(self, embed_dim, num_heads, dropout=0.0, causal=False, *, init="xavier", rng=None,
                 dtype=np.float64):
        e = check_int("MultiHeadAttention", "embed_dim", embed_dim)
        h = check_int("MultiHeadAttention", "num_heads", num_heads)
        if e % h:
            raise ValueError(f"MultiHeadAttention: embed_dim={e} is not divisible by num_heads={h}")
        if causal not in (True, False):
            raise ValueError(f"MultiHeadAttention: causal must be True or False, got {causal!r}")
        init_scale(init, e)  # checks the name or number
        dtype = check_dtype("MultiHeadAttention", dtype)
        rng = make_rng(rng)
        self.embed_dim, self.num_heads, self.head_dim, self.causal = e, h, e // h, bool(causal)
        self.dropout = check_dropout("MultiHeadAttention", dropout)
        self.softmax = Softmax(axis=-1)  # over the keys
        self.attn_dropout = Dropout(self.dropout, rng=rng)
        self.Wqkv, self.bqkv = np.empty((e, 3 * e), dtype=dtype), np.zeros(3 * e, dtype=dtype)
        self.Wo, self.bo = np.empty((e, e), dtype=dtype), np.zeros(e, dtype=dtype)
        self.reset_parameters(init, rng)
        self.dWqkv = self.dbqkv = self.dWo = self.dbo = None  # gradients, set by backward
        self._cache = None  # what forward keeps for backward
        self._kv = None  # keys and values of the positions read by forward_cached

    def extra_repr(self):
        extra = "".join([f", dropout={self.dropout}" if self.dropout else "", ", causal" if self.causal else ""])
        return f"{self.embed_dim}, num_heads={self.num_heads}{extra}"

    @property
    def fan_in(self):
        return self.embed_dim

    @classmethod
    def from_torch(cls, state, num_heads, dropout=0.0, causal=False, prefix="", rng=None):
        """A MultiHeadAttention with the weights of an ``nn.MultiheadAttention(E, num_heads)``'s
        ``state_dict`` (NumPy arrays or tensors; keys after ``prefix``), in their dtype.
        See :mod:`bprop.layers.transformer_weights` for the mapping."""
        arrays = attention_from_torch(state, prefix)
        layer = cls(arrays["Wo"].shape[0], num_heads, dropout, causal, rng=rng, dtype=arrays["Wo"].dtype)
        for name in cls.param_names:
            getattr(layer, name)[...] = arrays[name]
        return layer

    def to_torch(self, prefix=""):
        """``nn.MultiheadAttention``'s ``state_dict`` entries, as NumPy copies:
        ``in_proj_weight = Wqkv.T``, ``in_proj_bias``, ``out_proj.weight = Wo.T``, ``out_proj.bias``."""
        return attention_to_torch(self.Wqkv, self.bqkv, self.Wo, self.bo, prefix)

    def reset_parameters(self, init, rng):
        gaussian_(self.Wqkv, init, self.fan_in, rng)
        gaussian_(self.Wo, init, self.fan_in, rng)
        self.bqkv[...] = 0
        self.bo[...] = 0

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.embed_dim:
            raise ValueError(f"{self!r}: expects (T, {self.embed_dim}) per sample, got input shape "
                             f"{tuple(input_shape)}")
        return tuple(input_shape)

    def _check_input(self, x):
        return check_sequences(repr(self), x, self.embed_dim)

    def _project(self, x):
        """Q / sqrt(d), K and V, each (N, H, T, d), for x (N, T, E)."""
        n, t, e = x.shape
        qkv = matmul(x.reshape(n * t, e), self.Wqkv)  # [Q | K | V] = x Wqkv + bqkv
        qkv += self.bqkv
        q, k, v = (_heads(qkv[:, i * e:(i + 1) * e], n, t, self.num_heads) for i in range(3))
        return q * (1.0 / math.sqrt(self.head_dim)), k, v

    def _attend(self, q, k, v, bias, train):
        """dropout(A) with A = softmax(Q K^T / sqrt(d) + bias), and the heads' outputs (N*T, E)."""
        scores = np.matmul(q, k.swapaxes(-1, -2))
        if bias is not None:
            scores += bias
        a = self.softmax.forward(scores)
        a_drop = self.attn_dropout.forward(a, train) if self.dropout else a
        return a_drop, _rows(np.matmul(a_drop, v))

    def forward(self, x, train=True, *, attn_mask=None, key_padding_mask=None, need_weights=False,
                average_attn_weights=True):
        """``y`` as in the class docstring; ``(y, weights)`` when ``need_weights``.

        Parameters
        ----------
        x : (N, T, E).
        attn_mask : None, or bool / float (T, T) or (N * H, T, T), as PyTorch's.
        key_padding_mask : None, or bool / float (N, T): True marks a padding position.
        need_weights : bool; also return the attention weights (after dropout, as PyTorch).
        average_attn_weights : bool; the weights averaged over the heads (N, T, T), else (N, H, T, T).
        """
        x = self._check_input(x)
        n, t, e = x.shape
        bias = attention_bias(repr(self), n, self.num_heads, t, t, causal=self.causal, attn_mask=attn_mask,
                              key_padding_mask=key_padding_mask, dtype=x.dtype)
        q, k, v = self._project(x)
        a_drop, heads = self._attend(q, k, v, bias, train)
        y = matmul(heads, self.Wo)  # y = concat_h(A_h V_h) Wo + bo
        y += self.bo
        self._cache = (x, q, k, v, a_drop, heads)
        y = y.reshape(n, t, e)
        if not need_weights:
            return y
        return y, (a_drop.mean(axis=1) if average_attn_weights else a_drop.copy())

    def backward(self, dout):
        x, q, k, v, a_drop, heads = self._need_cache(self._cache)
        n, t, e = x.shape
        check_dout(self, dout, x.shape)
        dy = dout.reshape(n * t, e)
        self.dWo = matmul(heads.T, dy, out=self._grad_out("Wo"))     # dWo = concat^T dy
        self.dbo = np.sum(dy, axis=0, out=self._grad_out("bo"))
        dheads = _heads(matmul(dy, self.Wo.T), n, t, self.num_heads)  # dY_h, (N, H, T, d)
        da_drop = np.matmul(dheads, v.swapaxes(-1, -2))
        dv = np.matmul(a_drop.swapaxes(-1, -2), dheads)             # dV = dropout(A)^T dY_h
        da = self.attn_dropout.backward(da_drop) if self.dropout else da_drop
        ds = self.softmax.backward(da)                               # dS = A * (dA - sum_keys(dA * A))
        scale = 1.0 / math.sqrt(self.head_dim)
        dq = np.matmul(ds, k) * scale                                # dQ = dS K / sqrt(d)
        dk = np.matmul(ds.swapaxes(-1, -2), q)                       # dK = dS^T Q / sqrt(d) (q holds the scale)
        dqkv = np.concatenate([_rows(dq), _rows(dk), _rows(dv)], axis=1)
        x2 = x.reshape(n * t, e)
        self.dWqkv = matmul(x2.T, dqkv, out=self._grad_out("Wqkv"))  # dWqkv = x^T d[Q | K | V]
        self.dbqkv = np.sum(dqkv, axis=0, out=self._grad_out("bqkv"))
        return matmul(dqkv, self.Wqkv.T).reshape(n, t, e)

    # --- generation: one new position at a time --------------------------------------
    @property
    def cache_length(self):
        """How many positions :meth:`forward_cached` has read since :meth:`reset_cache`."""
        return 0 if self._kv is None else self._kv[0].shape[2]

    def reset_cache(self):
        """Forget the keys and values kept by :meth:`forward_cached`."""
        self._kv = None

    def forward_cached(self, x):
        """The output for the positions ``x (N, m, E)`` that follow those read before.

        Causal attention in evaluation mode, for generation: the keys and values of every
        position read since :meth:`reset_cache` are kept (N, H, S, d), so each new position
        costs one projection and one attention row instead of the whole sequence again.
        Gives what :meth:`forward` gives at those positions of the whole sequence.
        """
        if not self.causal:
            raise ValueError(f"{self!r}: forward_cached needs causal=True (a position must not see later ones)")
        x = self._check_input(x)
        n, m, e = x.shape
        if self._kv is not None and self._kv[0].shape[0] != n:
            raise ValueError(f"{self!r}: the cache holds {self._kv[0].shape[0]} sequences, the input {n}")
        q, k, v = self._project(x)
        start = self.cache_length
        if self._kv is not None:
            k, v = np.concatenate([self._kv[0], k], axis=2), np.concatenate([self._kv[1], v], axis=2)
        self._kv = (k, v)
        bias = attention_bias(repr(self), n, self.num_heads, m, start + m, causal=True, start=start, dtype=x.dtype)
        self._cache = None  # the softmax now holds this call's weights: no backward follows
        _, heads = self._attend(q, k, v, bias, train=False)
        y = matmul(heads, self.Wo)
        y += self.bo
        return y.reshape(n, m, e)

    def state(self):
        return self.attn_dropout.state()

    def set_state(self, state):
        self.attn_dropout.set_state(state)
