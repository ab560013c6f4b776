"""A bidirectional LSTM over a whole sequence: one TimeLSTM forward in time, one backward."""

import numpy as np

from .base import check_dout
from .checks import check_dtype, is_size
from .container import Container
from .lstm import TimeLSTM
from .rng import make_rng


class TimeBiLSTM(Container):
    """Bidirectional LSTM: a forward LSTM over x, a second one over x reversed in time.

    With ``LSTM_f`` and ``LSTM_r`` two LSTMs with their own weights (see
    :mod:`bprop.layers.lstm`) and zero initial states:

        hf_t = LSTM_f(x_t, hf_{t-1})   for t = 1, ..., T
        hr_t = LSTM_r(x_t, hr_{t+1})   for t = T, ..., 1
        y_t  = [hf_t, hr_t]            (concatenated on the last axis)

    so every step's output sees the whole sequence, the past through ``hf`` and the future
    through ``hr``: the bidirectional LSTM of Saito, *Deep Learning from Scratch 2*, and
    PyTorch's ``nn.LSTM(D, H, batch_first=True, bidirectional=True)``, whose output also
    holds the forward direction in ``[..., :H]`` and the reverse one in ``[..., H:]``.
    ``LSTM_r`` is a :class:`~bprop.layers.TimeLSTM` run on ``x[:, ::-1]``, its output turned
    back in time; backward does the same with ``dout[..., H:]`` and adds the two ``dx``.

    Each call starts both directions from zero states (no ``stateful``): the reverse
    direction begins at the end of the sequence, so there is no state to carry on into the
    next piece of a truncated sequence.

    Parameters
    ----------
    forward_lstm : a :class:`~bprop.layers.TimeLSTM` (not stateful), referenced; or
        ``input_size`` D.
    reverse_lstm : a TimeLSTM of the same sizes and dtype; or ``hidden_size`` H.
    init, rng, dtype : when built from sizes, as :class:`~bprop.layers.TimeLSTM` (default
        'xavier'); the forward direction's weights are drawn first, from the same ``rng``.
    input_grad : bool, default True. Whether ``backward`` computes ``dx``; a network
        clears it on its first layer.

    Shape
    -----
    x : (N, T, D) -> y : (N, T, 2H); ``backward(dout)`` with dout (N, T, 2H) returns
    dx : (N, T, D) (None without ``input_grad``).

    Attributes
    ----------
    forward_lstm, reverse_lstm : the two TimeLSTMs, the sublayers ``'forward'`` and
        ``'reverse'``: the network holds their ``Wx``, ``Wh``, ``b`` (forward first), and
        their gradients are set by ``backward``.
    """

    default_name = "BiLSTM"  # named BiLSTM1, BiLSTM2, ... in a network

    def __init__(self, forward_lstm, reverse_lstm, *, init="xavier", rng=None, dtype=np.float64,
                 input_grad=True):
        if is_size(forward_lstm) or is_size(reverse_lstm):
            rng = make_rng(rng)
            dtype = check_dtype("TimeBiLSTM", dtype)
            forward_lstm, reverse_lstm = (TimeLSTM(forward_lstm, reverse_lstm, init=init, rng=rng, dtype=dtype)
                                          for _ in range(2))
        for what, lstm in (("forward_lstm", forward_lstm), ("reverse_lstm", reverse_lstm)):
            if not isinstance(lstm, TimeLSTM):
                raise ValueError(f"TimeBiLSTM: {what} must be a TimeLSTM or a size, got {lstm!r}")
            if lstm.stateful:
                raise ValueError(f"TimeBiLSTM: {what} {lstm!r} is stateful; a bidirectional LSTM starts "
                                 "both directions from zeros at every call (stateful=False only)")
        f, r = forward_lstm, reverse_lstm
        if (f.input_size, f.hidden_size, f.Wx.dtype) != (r.input_size, r.hidden_size, r.Wx.dtype):
            raise ValueError(f"TimeBiLSTM: the two directions must have the same sizes and dtype, got "
                             f"{f!r} ({f.Wx.dtype}) and {r!r} ({r.Wx.dtype})")
        super().__init__({"forward": f, "reverse": r})
        self.forward_lstm, self.reverse_lstm = f, r
        self.input_grad = input_grad
        self._shape = None  # the output shape of the last forward, checked by backward

    @property
    def input_grad(self):
        """Whether ``backward`` computes ``dx``; set on both directions."""
        return self.forward_lstm.input_grad

    @input_grad.setter
    def input_grad(self, value):
        self.forward_lstm.input_grad = self.reverse_lstm.input_grad = bool(value)

    input_size = property(lambda self: self.forward_lstm.input_size, doc="D, the size of one step's input.")
    hidden_size = property(lambda self: self.forward_lstm.hidden_size,
                           doc="H, the size of each direction's state; the output has 2H features.")

    def extra_repr(self):
        return f"{self.input_size} -> 2x{self.hidden_size}"

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.input_size:
            raise ValueError(f"{self!r}: expects (T, {self.input_size}) per sample, "
                             f"got input shape {tuple(input_shape)}")
        return (input_shape[0], 2 * self.hidden_size)

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or 0 in x.shape:
            raise ValueError(f"{self!r}: input must be a non-empty batch of sequences "
                             f"(N, T, {self.input_size}), got shape {x.shape}")
        hf = self.forward_lstm.forward(x, train)
        hr = self.reverse_lstm.forward(x[:, ::-1], train)[:, ::-1]  # turned back in time
        y = np.concatenate([hf, hr], axis=2)  # y_t = [hf_t, hr_t]
        self._shape = y.shape
        return y

    def backward(self, dout):
        check_dout(self, dout, self._need_cache(self._shape))
        h = self.hidden_size
        dxf = self.forward_lstm.backward(dout[:, :, :h])
        dxr = self.reverse_lstm.backward(dout[:, ::-1, h:])  # the reverse LSTM saw time reversed
        if not self.input_grad:
            return None
        return dxf + dxr[:, ::-1]

    @classmethod
    def from_torch(cls, weights, layer=0, input_grad=True):
        """A TimeBiLSTM from layer ``layer`` of a bidirectional ``nn.LSTM``'s state dict.

        ``weights`` maps PyTorch's names to NumPy arrays (``{k: v.numpy() for k, v in
        module.state_dict().items()}``): ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
        ``bias_hh_l0`` and the same with ``_reverse`` (the biases may be missing, for
        ``bias=False``). Each direction maps as :meth:`TimeLSTM.from_torch`; arrays copied.
        """
        lstms = []
        for suffix in (f"_l{layer}", f"_l{layer}_reverse"):
            for name in ("weight_ih", "weight_hh"):
                if name + suffix not in weights:
                    raise ValueError(f"TimeBiLSTM.from_torch: no {name + suffix!r} among the weights "
                                     f"({', '.join(sorted(weights))})")
            lstms.append(TimeLSTM.from_torch(*(weights.get(name + suffix)
                                               for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))))
        return cls(*lstms, input_grad=input_grad)

    def to_torch(self, layer=0):
        """PyTorch's arrays for this layer, named as a bidirectional ``nn.LSTM``'s layer
        ``layer``: ``weight_ih_l0``, ..., ``bias_hh_l0_reverse``. New arrays."""
        out = self.forward_lstm.to_torch(suffix=f"_l{layer}")
        out.update(self.reverse_lstm.to_torch(suffix=f"_l{layer}_reverse"))
        return out
