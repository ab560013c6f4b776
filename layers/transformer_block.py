"""The pre-norm transformer block: attention and an MLP, each added to a residual stream."""

import numbers
from collections import OrderedDict

import numpy as np

from .checks import check_int, check_sequences
from .container import Container
from .layernorm import LayerNorm
from .multihead_attention import MultiHeadAttention, check_dropout
from .rng import make_rng
from .smooth_activations import GELU
from .time_layers import TimeAffine, TimeDropout
from .transformer_weights import BLOCK_PARTS, block_from_torch, block_to_torch


class TransformerBlock(Container):
    """``h = x + MHA(LN1(x))``, ``y = h + MLP(LN2(h))`` with ``MLP(z) = GELU(z W1 + b1) W2 + b2``.

    The pre-norm block of GPT-2 (Radford et al., 2019) and of PyTorch's
    ``nn.TransformerEncoderLayer(d_model=E, nhead=H, dim_feedforward=F, activation='gelu',
    norm_first=True, batch_first=True)``: each branch normalises its input, the residual
    stream itself is never normalised, so the gradient reaches every block through the
    sums unchanged (``dx = dh + d(MHA(LN1(x)))/dx``, ``dh = dy + d(MLP(LN2(h)))/dh``).
    GELU is the exact ``x * Phi(x)`` (PyTorch's ``activation='gelu'``), or with
    ``gelu_approximate='tanh'`` GPT-2's tanh form, which costs a fraction of it. Dropout, in training only, sits where PyTorch puts
    it: on the attention weights, on each branch's output before the sum, and after the
    GELU.

    The sublayers, in order: ``norm1`` (LayerNorm), ``attn`` (MultiHeadAttention),
    ``dropout1``, ``norm2`` (LayerNorm), ``linear1`` (TimeAffine E -> F), ``activation``
    (GELU), ``dropout``, ``linear2`` (TimeAffine F -> E), ``dropout2``. In a network their
    parameters are numbered with every other layer's (``gamma1, beta1, Wqkv1, bqkv1, Wo1,
    bo1, gamma2, beta2, W1, b1, W2, b2`` for a block alone). :meth:`from_torch` and
    :meth:`to_torch` map them to PyTorch's names (:mod:`bprop.layers.transformer_weights`).

    Parameters
    ----------
    embed_dim : E.
    num_heads : H, must divide E.
    mlp_ratio : F / E, a number > 0 with ``mlp_ratio * E`` a whole number (default 4).
    dropout : ratio in [0, 1) of every dropout (default 0: none).
    causal : bool, default False; True for a language model (position t sees t' <= t).
    gelu_approximate : 'none' (default, exact, PyTorch's 'gelu') or 'tanh' (:class:`GELU`).
    init : 'xavier' (default: ``N(0, 1/fan_in)``), 'he' or a std of every weight matrix;
        biases 0, LayerNorm's gamma 1 and beta 0.
    rng : None, int or np.random.Generator, for the weights and the dropout masks.
    dtype : np.float64 (default) or np.float32.

    Shape
    -----
    x : (N, T, E) -> y : (N, T, E); ``backward`` returns dx (N, T, E).
    """

    def __init__(self, embed_dim, num_heads, mlp_ratio=4, dropout=0.0, causal=False, *, gelu_approximate="none",
                 init="xavier", rng=None, dtype=np.float64):
        e = check_int("TransformerBlock", "embed_dim", embed_dim)
        hidden = _hidden_size(e, mlp_ratio)
        dropout = check_dropout("TransformerBlock", dropout)
        rng = make_rng(rng)
        self.embed_dim, self.mlp_ratio, self.hidden_size = e, mlp_ratio, hidden
        self.norm1 = LayerNorm(e, dtype=dtype)
        self.attn = MultiHeadAttention(e, num_heads, dropout, causal, init=init, rng=rng, dtype=dtype)
        self.dropout1 = TimeDropout(dropout, rng)
        self.norm2 = LayerNorm(e, dtype=dtype)
        self.linear1 = TimeAffine(e, hidden, init=init, rng=rng, dtype=dtype)
        self.activation = GELU(gelu_approximate)
        self.dropout = TimeDropout(dropout, rng)
        self.linear2 = TimeAffine(hidden, e, init=init, rng=rng, dtype=dtype)
        self.dropout2 = TimeDropout(dropout, rng)
        names = ("norm1", "attn", "dropout1", "norm2", "linear1", "activation", "dropout", "linear2", "dropout2")
        super().__init__(OrderedDict((name, getattr(self, name)) for name in names))

    num_heads = property(lambda self: self.attn.num_heads, doc="H, the attention's number of heads.")
    causal = property(lambda self: self.attn.causal, doc="Whether a position attends only to itself and earlier ones.")

    def extra_repr(self):
        extra = "".join([f", dropout={self.attn.dropout}" if self.attn.dropout else "",
                         ", causal" if self.causal else "",
                         ", gelu_approximate='tanh'" if self.activation.approximate == "tanh" else ""])
        return f"{self.embed_dim}, num_heads={self.num_heads}, mlp_ratio={self.mlp_ratio}{extra}"

    def output_shape(self, input_shape):
        try:
            return self.attn.output_shape(input_shape)
        except ValueError:
            raise ValueError(f"{self!r}: expects (T, {self.embed_dim}) per sample, got input shape "
                             f"{tuple(input_shape)}") from None

    def _check_input(self, x):
        return check_sequences(repr(self), x, self.embed_dim)

    def forward(self, x, train=True, *, attn_mask=None, key_padding_mask=None):
        """``y`` for ``x (N, T, E)``; the masks are :class:`MultiHeadAttention`'s."""
        x = self._check_input(x)
        a = self.attn.forward(self.norm1.forward(x, train), train, attn_mask=attn_mask,
                              key_padding_mask=key_padding_mask)
        h = x + self.dropout1.forward(a, train)                        # h = x + MHA(LN1(x))
        u = self.activation.forward(self.linear1.forward(self.norm2.forward(h, train), train), train)
        m = self.linear2.forward(self.dropout.forward(u, train), train)
        return h + self.dropout2.forward(m, train)                     # y = h + MLP(LN2(h))

    def backward(self, dout):
        dm = self.linear2.backward(self.dropout2.backward(dout))
        du = self.linear1.backward(self.activation.backward(self.dropout.backward(dm)))
        dh = dout + self.norm2.backward(du)                            # both paths from h to y
        da = self.attn.backward(self.dropout1.backward(dh))
        return dh + self.norm1.backward(da)                            # both paths from x to h

    # --- generation -----------------------------------------------------------------
    def forward_cached(self, x):
        """The block in evaluation mode at the positions ``x (N, m, E)`` that follow those read
        before, the attention keeping past keys and values
        (:meth:`MultiHeadAttention.forward_cached`); needs ``causal=True``."""
        x = self._check_input(x)
        h = x + self.attn.forward_cached(self.norm1.forward(x, False))
        u = self.activation.forward(self.linear1.forward(self.norm2.forward(h, False), False), False)
        return h + self.linear2.forward(u, False)

    def reset_cache(self):
        self.attn.reset_cache()

    # --- PyTorch --------------------------------------------------------------------
    @classmethod
    def from_torch(cls, state, num_heads, dropout=0.0, causal=False, prefix="", rng=None):
        """A block with the weights of an ``nn.TransformerEncoderLayer(E, num_heads, F,
        activation='gelu', norm_first=True, batch_first=True)``'s ``state_dict`` (NumPy arrays or
        tensors), its sizes and dtype. The LayerNorms' eps must be PyTorch's default, 1e-5."""
        parts = block_from_torch(state, prefix)
        w1 = parts["linear1"]["W"]
        e, f = w1.shape
        block = cls(e, num_heads, mlp_ratio=f // e if f % e == 0 else f / e, dropout=dropout, causal=causal,
                    rng=rng, dtype=w1.dtype)
        for part, arrays in parts.items():
            layer = getattr(block, part)
            for name, value in arrays.items():
                target = getattr(layer, name)
                if value.shape != target.shape:
                    raise ValueError(f"TransformerBlock.from_torch: {part}.{name} has shape {value.shape}, "
                                     f"expected {target.shape}")
                target[...] = value
        return block

    def to_torch(self, prefix=""):
        """The ``state_dict`` of the equal ``nn.TransformerEncoderLayer``, as NumPy copies."""
        return block_to_torch({part: getattr(self, part).params() for part in BLOCK_PARTS}, prefix)


def _hidden_size(e, mlp_ratio):
    """F = mlp_ratio * E, or a ValueError unless that is a whole number >= 1."""
    if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, numbers.Real) or not 0 < mlp_ratio < float("inf"):
        raise ValueError(f"TransformerBlock: mlp_ratio must be a finite number > 0, got {mlp_ratio!r}")
    hidden = round(mlp_ratio * e)
    if hidden < 1 or abs(hidden - mlp_ratio * e) > 1e-9 * e:
        raise ValueError(f"TransformerBlock: mlp_ratio * embed_dim must be a whole number >= 1, "
                         f"got {mlp_ratio!r} * {e} = {mlp_ratio * e!r}")
    return int(hidden)
