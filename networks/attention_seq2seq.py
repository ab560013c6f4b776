"""Sequence to sequence with attention: the decoder looks back at every encoder step.

A plain :class:`~bprop.networks.seq2seq.Seq2seq` squeezes the whole input into the encoder's
final state. Here the encoder's hidden state at *every* step is kept, ``hs_enc (N, T, H)``,
and at each output step the decoder weighs them by how well they match its own state
(:class:`~bprop.layers.time_attention.TimeAttention`) and reads their weighted sum, the
context, beside its state (Bahdanau et al., 2015; Luong et al., 2015; the textbook's
``AttentionSeq2seq``, Saito, *Deep Learning from Scratch 2*, ch. 8).
"""

from collections import OrderedDict

import numpy as np

from bprop.layers import TimeAffine, TimeEmbedding, TimeLSTM
from bprop.layers.checks import check_int
from bprop.layers.time_attention import TimeAttention

from .chain import output_shapes
from .seq2seq import Seq2seq


class AttentionSeq2seq(Seq2seq):
    """An LSTM encoder whose every state the LSTM decoder attends to, trained with teacher forcing.

    Encoder: ``TimeEmbedding -> TimeLSTM``, keeping ``hs_enc (N, T, H)``. Decoder, from the
    encoder's final state ``(h, c)`` as in :class:`Seq2seq`::

        hs_dec = TimeLSTM(TimeEmbedding(t_in))                  (N, T', H)
        C = TimeAttention(hs_enc, hs_dec)                       (N, T', H), C_u = sum_t a_ut hs_enc_t
        scores = TimeAffine([C, hs_dec])                        (N, T', V), from 2H features

    with :class:`~bprop.layers.TimeSoftmaxWithLoss`. The gradient reaches the encoder at
    every step through the attention, and at its last step through the decoder's initial
    state. The textbook's decoder starts from ``h`` alone; here ``c`` goes too, as in
    :class:`Seq2seq` and :class:`PeekySeq2seq`, so that the three differ only in what the
    decoder reads. ``params``: ``W1`` the encoder's embedding, ``Wx1, Wh1, b1`` its LSTM,
    ``W2`` the decoder's embedding, ``Wx2, Wh2, b2`` its LSTM, ``W3 (2H, V), b3`` the output
    layer (attention has no parameters). ``loss``, ``loss_and_gradient``, ``generate``,
    ``accuracy``, ``state_dict``, ``save_params`` / ``load_params`` and ``gradient_check``
    work as for :class:`Seq2seq`, so the same Trainer and scripts train it.

    Parameters (``vocab_size``, ``embed_size``, ``hidden_size``, ``dtype``, ``rng``) and
    shapes are those of :class:`Seq2seq`.

    Attributes
    ----------
    attention : the decoder's :class:`TimeAttention`; its ``attention_weights (N, T', T)``
        are those of the last forward (see :meth:`generate_with_attention` for a generated answer).
    """

    def __init__(self, vocab_size, embed_size=16, hidden_size=128, dtype=np.float64, rng=None):
        super().__init__(vocab_size, embed_size, hidden_size, dtype=dtype, rng=rng)
        self.attention = self.layers["DecoderAttention"]
        self._decoder_embedding, self._affine = self.layers["DecoderEmbedding"], self.layers["DecoderAffine"]

    @staticmethod
    def _decoder_layers(v, d, h, dtype, rng):
        return [
            ("DecoderEmbedding", TimeEmbedding(v, d, rng=rng, dtype=dtype)),
            ("DecoderLSTM", TimeLSTM(d, h, rng=rng, dtype=dtype)),
            ("DecoderAttention", TimeAttention()),
            ("DecoderAffine", TimeAffine(2 * h, v, init="xavier", rng=rng, dtype=dtype)),
        ]

    def _layer_shapes(self, owner):
        # the encoder, the decoder up to its contexts, then the output layer on [context, state]
        chains = [("EncoderEmbedding", "EncoderLSTM"), ("DecoderEmbedding", "DecoderLSTM", "DecoderAttention")]
        shapes = OrderedDict()
        for chain in chains:
            shapes.update(output_shapes(OrderedDict((k, self.layers[k]) for k in chain), self.input_shape, owner))
        steps, size = shapes["DecoderAttention"]
        shapes.update(output_shapes({"DecoderAffine": self.layers["DecoderAffine"]}, (steps, 2 * size), owner))
        return shapes

    # --- forward ---------------------------------------------------------------------
    def encode_states(self, x, train=False):
        """The encoder's hidden state at every step, ``hs_enc (N, T, H)``, for the input x (N, T);
        its final ``(h, c)`` stay in the encoder's LSTM for the decoder to start from."""
        x = self._check_ids("x", x)
        hs = x
        for layer in self.encoder:
            hs = layer.forward(hs, train)
        self._input_steps = x.shape[1]
        return hs

    def _decode(self, ids, hs_enc, h, c, train):
        """Scores (N, T', V) of the decoder reading ``ids`` from the state ``(h, c)``, attending to ``hs_enc``."""
        self._decoder_lstm.set_initial_state(h, c)
        hs_dec = self._decoder_lstm.forward(self._decoder_embedding.forward(ids, train), train)
        context = self.attention.forward(hs_enc, hs_dec)
        return self._affine.forward(np.concatenate([context, hs_dec], axis=2), train)

    def predict(self, x, t_in, train=False):
        """Scores (N, T', V) of the next id at every step of ``t_in`` (N, T'), the decoder's
        input, given the input sequences x: teacher forcing."""
        if len(x) != len(t_in):
            raise ValueError(f"{type(self).__name__}: x and t_in must hold as many sequences, "
                             f"got {len(x)} and {len(t_in)}")
        hs_enc = self.encode_states(x, train)
        encoder = self._encoder_lstm
        return self._decode(self._check_ids("t_in", t_in), hs_enc, encoder.h, encoder.c, train)

    # --- backward --------------------------------------------------------------------
    def backward(self, dout):
        """From the scores back through ``[C, hs_dec]``: the decoder's states get the gradient of
        the output layer and of the attention, the encoder's states that of the attention at
        every step, plus, at the last step, that of the decoder's initial state."""
        size = self.hidden_size
        dfeatures = self._affine.backward(dout)
        dhs_enc, dhs_dec = self.attention.backward(dfeatures[:, :, :size])
        dhs_dec += dfeatures[:, :, size:]
        self._decoder_embedding.backward(self._decoder_lstm.backward(dhs_dec))
        dhs_enc[:, -1] += self._decoder_lstm.dh0
        dout = self._encoder_lstm.backward(dhs_enc, dc=self._decoder_lstm.dc0)
        for layer in reversed(self.encoder[:-1]):
            dout = layer.backward(dout)

    # --- generation ------------------------------------------------------------------
    def generate(self, x, start_id, length):
        """Greedy decoding as :meth:`Seq2seq.generate`, each step reading the encoder's states
        through the attention (:meth:`generate_with_attention` also returns where it looked)."""
        return self.generate_with_attention(x, start_id, length)[0]

    def generate_with_attention(self, x, start_id, length):
        """:meth:`generate`, and where each generated id looked: ``(ids, weights)``, ids
        (N, length) int64 and weights (N, length, T), row ``i`` the attention over the input
        steps with which id ``i`` was chosen (the attention map of the answer)."""
        owner = f"{type(self).__name__}.generate"
        length = check_int(owner, "length", length)
        start_id = check_int(owner, "start_id", start_id, low=0)
        if start_id >= self.vocab_size:
            raise ValueError(f"{owner}: start_id {start_id} is outside [0, {self.vocab_size})")
        hs_enc = self.encode_states(x)
        h, c = self._encoder_lstm.h, self._encoder_lstm.c
        n, steps = hs_enc.shape[:2]
        ids = np.full((n, 1), start_id, dtype=np.int64)
        out = np.empty((n, length), dtype=np.int64)
        weights = np.empty((n, length, steps), dtype=hs_enc.dtype)
        for i in range(length):
            scores = self._decode(ids, hs_enc, h, c, train=False)
            ids = np.argmax(scores[:, -1], axis=1)[:, None]
            out[:, i] = ids[:, 0]
            weights[:, i] = self.attention.attention_weights[:, -1]
            h, c = self._decoder_lstm.h, self._decoder_lstm.c
        return out, weights
