"""Sequence to sequence: an LSTM encoder reads the input, an LSTM decoder writes the output.

Both are chains of layers; what joins them is the encoder's final state ``(h, c)``, which
becomes the decoder's initial state (and, in the peeky variant, is also appended to every
decoder step). The gradient goes back the same way: the decoder's ``dh0``, ``dc0``
(plus what the peeks collected) are the gradient of the encoder's last step.
"""

from collections import OrderedDict

import numpy as np

from bprop.layers import Peek, TimeAffine, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss, make_rng
from bprop.layers.checks import check_dtype, check_int

from .chain import output_shapes
from .sequential import Sequential


class Seq2seq(Sequential):
    """An LSTM encoder and an LSTM decoder, trained with teacher forcing.

    Encoder: ``TimeEmbedding -> TimeLSTM``; its final state ``(h, c)`` starts the decoder:
    ``TimeEmbedding -> TimeLSTM -> TimeAffine`` with :class:`~bprop.layers.TimeSoftmaxWithLoss`
    (Sutskever et al., 2014). Both halves keep their own embedding. The textbook
    (Saito, *Deep Learning from Scratch 2*, ch. 7) hands over ``h`` only; here ``c`` goes
    too, as in PyTorch's ``nn.LSTM`` seq2seq examples, through ``TimeLSTM.backward(dhs, dc)``.

    A :class:`Sequential` in everything but the order of its forward and backward passes
    (the encoder's state goes to the decoder): ``params`` (``W1`` the encoder's embedding,
    ``Wx1, Wh1, b1`` its LSTM, ``W2`` the decoder's embedding, ``Wx2, Wh2, b2`` its LSTM,
    ``W3, b3`` the output layer), ``loss_and_gradient``, ``state_dict``, ``save_params``,
    ``gradient_check`` work as for any network.

    Parameters
    ----------
    vocab_size : V, ids shared by inputs and outputs.
    embed_size : D (default 16, the textbook's).
    hidden_size : H (default 128).
    dtype : np.float64 (default) or np.float32.
    rng : None, int or np.random.Generator.

    Shape
    -----
    x : (N, T_in) int ids, the input sequences; t : (N, T_out) int ids, the output
    sequences *with the start symbol first*: the decoder reads ``t[:, :-1]`` and is scored
    on predicting ``t[:, 1:]`` (T_out >= 2). Any T_in and T_out.
    """

    def __init__(self, vocab_size, embed_size=16, hidden_size=128, dtype=np.float64, rng=None):
        owner = type(self).__name__
        v = check_int(owner, "vocab_size", vocab_size)
        d = check_int(owner, "embed_size", embed_size)
        h = check_int(owner, "hidden_size", hidden_size)
        dtype = check_dtype(owner, dtype)
        rng = make_rng(rng)
        self.vocab_size, self.embed_size, self.hidden_size = v, d, h
        layers = OrderedDict([
            ("EncoderEmbedding", TimeEmbedding(v, d, rng=rng, dtype=dtype)),
            ("EncoderLSTM", TimeLSTM(d, h, rng=rng, dtype=dtype)),
        ])
        layers.update(self._decoder_layers(v, d, h, dtype, rng))
        super().__init__(layers, loss=TimeSoftmaxWithLoss(), input_shape=(1,), dtype=dtype, rng=rng)
        self.encoder = [layer for name, layer in self.layers.items() if name.startswith("Encoder")]
        self.decoder = [layer for name, layer in self.layers.items() if name.startswith("Decoder")]
        self.peeks = [layer for layer in self.decoder if isinstance(layer, Peek)]
        self._encoder_lstm, self._decoder_lstm = self.layers["EncoderLSTM"], self.layers["DecoderLSTM"]
        self._input_steps = None

    @staticmethod
    def _decoder_layers(v, d, h, dtype, rng):
        return [
            ("DecoderEmbedding", TimeEmbedding(v, d, rng=rng, dtype=dtype)),
            ("DecoderLSTM", TimeLSTM(d, h, rng=rng, dtype=dtype)),
            ("DecoderAffine", TimeAffine(h, v, init="xavier", rng=rng, dtype=dtype)),
        ]

    def _layer_shapes(self, owner):
        # two chains, each reading ids: one step of each for the shapes shown
        halves = [OrderedDict((k, v) for k, v in self.layers.items() if k.startswith(part))
                  for part in ("Encoder", "Decoder")]
        shapes = output_shapes(halves[0], self.input_shape, owner)
        shapes.update(output_shapes(halves[1], self.input_shape, owner))
        return shapes

    # --- forward ---------------------------------------------------------------------
    def _check_ids(self, name, ids, min_steps=1):
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu" or ids.shape[0] == 0 or ids.shape[1] < min_steps:
            raise ValueError(f"{type(self).__name__}: {name} must be a batch of id sequences (N, T) with "
                             f"T >= {min_steps}, got shape {ids.shape} and dtype {ids.dtype}")
        return ids

    def encode(self, x, train=False):
        """The encoder's final state ``(h, c)``, each (N, H), for the input sequences x (N, T_in)."""
        x = self._check_ids("x", x)
        y = x
        for layer in self.encoder:
            y = layer.forward(y, train)
        self._input_steps = x.shape[1]
        return self._encoder_lstm.h, self._encoder_lstm.c

    def _run_decoder(self, ids, h, c, train):
        """Scores (N, T, V) of the decoder reading ``ids`` from the state ``(h, c)``."""
        self._decoder_lstm.set_initial_state(h, c)
        y = ids
        for layer in self.decoder:
            y = layer.forward(y, train)
        return y

    def predict(self, x, t_in, train=False):
        """Scores (N, T, V) of the next id at every step of ``t_in`` (N, T), the decoder's input,
        given the input sequences x: teacher forcing."""
        if len(x) != len(t_in):
            raise ValueError(f"{type(self).__name__}: x and t_in must hold as many sequences, "
                             f"got {len(x)} and {len(t_in)}")
        h, c = self.encode(x, train)
        for peek in self.peeks:
            peek.set_context(h)
        return self._run_decoder(self._check_ids("t_in", t_in), h, c, train)

    def loss(self, x, t, train=False):
        """Mean cross-entropy (nats per output id) of ``t[:, 1:]`` after ``t[:, :-1]``, plus weight decay."""
        t = self._check_ids("t", t, min_steps=2)
        scores = self._scores = self.predict(x, t[:, :-1], train)
        return self.last_layer.forward(scores, t[:, 1:]) + self._weight_decay_loss()

    #: measured by its loss per output id and the fraction of whole answers it generates right
    default_metrics = ("loss", "sequence_accuracy")

    def n_predictions(self, x, t):
        """One prediction per output id: every id of ``t`` but the first (the start symbol)."""
        return t[:, 1:].size

    # --- backward --------------------------------------------------------------------
    def backward(self, dout):
        """Through the decoder, then into the encoder's last step from the decoder's initial state."""
        for layer in reversed(self.decoder):
            dout = layer.backward(dout)
        dh = self._decoder_lstm.dh0 + sum(peek.dcontext for peek in self.peeks)
        dhs = np.zeros((dh.shape[0], self._input_steps, dh.shape[1]), dtype=dh.dtype)
        dhs[:, -1] = dh  # only the last step's h was used
        dout = self._encoder_lstm.backward(dhs, dc=self._decoder_lstm.dc0)
        for layer in reversed(self.encoder[:-1]):
            dout = layer.backward(dout)

    # --- generation and evaluation -----------------------------------------------------
    def generate(self, x, start_id, length):
        """Greedy decoding: from ``start_id``, each step's most likely id is the next step's input.

        Parameters
        ----------
        x : (N, T_in) int ids, the input sequences.
        start_id : int, the decoder's first input (the addition task's ``'_'``).
        length : int >= 1, ids to generate.

        Returns
        -------
        (N, length) int64, the generated ids (without ``start_id``).
        """
        length = check_int(f"{type(self).__name__}.generate", "length", length)
        start_id = check_int(f"{type(self).__name__}.generate", "start_id", start_id, low=0)
        if start_id >= self.vocab_size:
            raise ValueError(f"{type(self).__name__}.generate: start_id {start_id} is outside [0, {self.vocab_size})")
        h, c = self.encode(x)
        for peek in self.peeks:
            peek.set_context(h)  # the encoder's state, at every step
        ids = np.full((h.shape[0], 1), start_id, dtype=np.int64)
        out = np.empty((h.shape[0], length), dtype=np.int64)
        for i in range(length):
            scores = self._run_decoder(ids, h, c, train=False)
            ids = np.argmax(scores[:, -1], axis=1)[:, None]
            out[:, i] = ids[:, 0]
            h, c = self._decoder_lstm.h, self._decoder_lstm.c
        return out

    def accuracy(self, x, t, batch_size=1000):
        """Fraction of sequences whose whole output ``t[:, 1:]`` :meth:`generate` gets right,
        starting from ``t[:, 0]`` (the start symbol, the same for every sequence)."""
        t = self._check_ids("t", t, min_steps=2)
        x = self._check_ids("x", x)
        if len(x) != len(t):
            raise ValueError(f"{type(self).__name__}.accuracy: x and t must hold as many sequences, "
                             f"got {len(x)} and {len(t)}")
        start = np.unique(t[:, 0])
        if len(start) != 1:
            raise ValueError(f"{type(self).__name__}.accuracy: every t must start with the same start id, "
                             f"got {start.tolist()[:5]}")
        right = 0
        for i in range(0, len(x), batch_size):
            guess = self.generate(x[i:i + batch_size], int(start[0]), t.shape[1] - 1)
            right += int(np.count_nonzero(np.all(guess == t[i:i + batch_size, 1:], axis=1)))
        return right / len(x)


class PeekySeq2seq(Seq2seq):
    """:class:`Seq2seq` whose decoder sees the encoder's final ``h`` at every step.

    The decoder is ``TimeEmbedding -> Peek -> TimeLSTM -> Peek -> TimeAffine``: each
    :class:`~bprop.layers.Peek` appends ``h`` to every step, so the LSTM reads
    ``[embedding, h]`` (D + H inputs) and the output layer ``[hidden state, h]`` (2H), as
    in the textbook's ``PeekySeq2seq`` (after Cho et al., 2014). The gradient of ``h`` is
    then the decoder's ``dh0`` plus what the two peeks collected over the steps. The
    parameters are those of :class:`Seq2seq`, with the wider ``Wx2`` (D + H, 4H) and
    ``W3`` (2H, V).
    """

    @staticmethod
    def _decoder_layers(v, d, h, dtype, rng):
        return [
            ("DecoderEmbedding", TimeEmbedding(v, d, rng=rng, dtype=dtype)),
            ("DecoderPeek1", Peek(h)),
            ("DecoderLSTM", TimeLSTM(d + h, h, rng=rng, dtype=dtype)),
            ("DecoderPeek2", Peek(h)),
            ("DecoderAffine", TimeAffine(2 * h, v, init="xavier", rng=rng, dtype=dtype)),
        ]
