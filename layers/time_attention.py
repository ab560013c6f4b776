"""TimeAttention: a decoder's attention over the encoder's states, at every decoder step at once."""

from .attention import check_states, softmax_backward
from .base import Layer, check_dout
from .functional import softmax


class TimeAttention(Layer):
    """:class:`~bprop.layers.attention.Attention` at each of the T' decoder steps.

    With the encoder's states ``hs_enc (N, T, H)`` and the decoder's ``hs_dec (N, T', H)``,
    decoder step ``u`` attends to every encoder step ``t``::

        S[n, u, t] = hs_dec[n, u] . hs_enc[n, t]     A = softmax_t(S)     C[n, u] = sum_t A[n, u, t] hs_enc[n, t]

    that is ``S = hs_dec hs_enc^T``, ``C = A hs_enc`` as one batched product each, the same
    numbers as an ``Attention`` layer run at every step (the textbook runs T' of them).
    The softmax subtracts each row's largest score. Backward, with ``dC (N, T', H)``::

        dA = dC hs_enc^T        dS = A * (dA - sum_t dA * A)
        dhs_enc = A^T dC + dS^T hs_dec        dhs_dec = dS hs_enc

    Shape
    -----
    ``forward(hs_enc, hs_dec)``: hs_enc : (N, T, H), hs_dec : (N, T', H) -> C : (N, T', H).
    ``backward(dC)``: dC : (N, T', H) -> ``(dhs_enc (N, T, H), dhs_dec (N, T', H))``.

    Attributes
    ----------
    attention_weights : (N, T', T), the weights ``A`` of the last forward: row ``u`` says
        where decoder step ``u`` looked (the attention map).
    """

    def __init__(self):
        self.attention_weights = None
        self._cache = None

    def output_shape(self, input_shape):
        """``(T', H)``, the shape of one sample's decoder states: one context per decoder step."""
        if len(input_shape) != 2:
            raise ValueError(f"{self!r}: expects decoder states (T', H) per sample, got shape {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, hs_enc, hs_dec):
        hs_enc = check_states(self, "hs_enc", hs_enc)
        hs_dec = check_states(self, "hs_dec", hs_dec)
        n, _, size = hs_enc.shape
        if hs_dec.shape[0] != n or hs_dec.shape[2] != size:
            raise ValueError(f"{self!r}: hs_dec must have shape (N, T', H) = ({n}, T', {size}) to go with "
                             f"hs_enc of shape {hs_enc.shape}, got {hs_dec.shape}")
        A = softmax(hs_dec @ hs_enc.transpose(0, 2, 1), axis=2)
        self._cache = (hs_enc, hs_dec)
        self.attention_weights = A
        return A @ hs_enc

    def backward(self, dC):
        hs_enc, hs_dec = self._need_cache(self._cache)
        A = self.attention_weights
        check_dout(self, dC, hs_dec.shape)
        dA = dC @ hs_enc.transpose(0, 2, 1)
        dS = softmax_backward(A, dA, axis=2)
        dhs_enc = A.transpose(0, 2, 1) @ dC + dS.transpose(0, 2, 1) @ hs_dec
        dhs_dec = dS @ hs_enc
        return dhs_enc, dhs_dec
