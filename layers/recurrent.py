"""What the recurrent layers share: their weights, and the one-step cell.

:class:`RecurrentWeights` is the base of the one-step cells ``RNN``, ``LSTM``, ``GRU``:
the weights ``Wx (D, kH)``, ``Wh (H, kH)``, ``b (kH,)`` with the k gates side by side
in PyTorch's order (see :mod:`bprop.layers.torch_weights`), built from arrays or sizes,
and the gradients of those weights from a whole batch of steps at once.
:class:`RecurrentCell` adds what the cells share; the Time layers, which run a cell over
a sequence, build on :class:`bprop.layers.time_recurrent.TimeRecurrent`.
"""

import numpy as np

from .base import Layer
from .checks import check_dtype, check_int, is_size
from .init import init_, init_bias_, init_rule
from .rng import make_rng
from .torch_weights import GATE_ORDER, weights_from_torch, weights_to_torch


class RecurrentWeights(Layer):
    """Weights of a recurrent cell with ``k`` gates: ``Wx (D, kH)``, ``Wh (H, kH)``, ``b (kH,)``.

    Built from arrays, ``LSTM(Wx, Wh, b)``, or from sizes, ``LSTM(input_size, hidden_size,
    init='xavier', rng=0)``: ``Wx`` then ``Wh`` drawn as ``init`` says (see
    :mod:`bprop.layers.init`) with each matrix's own fan-in (D for Wx, H for Wh) and the
    fan-out kH; 'orthogonal' makes each gate's (D, H) or (H, H) block orthogonal on its
    own. ``b = 0``, or for an ``init`` that draws biases ('torch_default') ``b ~ U(-1/sqrt(H),
    1/sqrt(H))``, PyTorch's bound, drawn once (PyTorch draws ``bias_ih`` and ``bias_hh``,
    whose sum is ``b``); other biases (GRU's ``bhn``) start at 0. The default 'xavier'
    gives the textbook's ``randn / sqrt(fan_in)``, which suits tanh and sigmoid.

    Subclasses set ``kind`` ('rnn', 'lstm' or 'gru'), which fixes the number of gates
    and the mapping to PyTorch (:meth:`from_torch`, :meth:`to_torch`).
    """

    #: 'rnn', 'lstm' or 'gru': the number of gates and the PyTorch mapping
    kind = None
    param_names = ("Wx", "Wh", "b")
    decay_names = ("Wx", "Wh")

    def __init__(self, Wx, Wh, b=None, *, init="xavier", rng=None, dtype=np.float64):
        owner = type(self).__name__
        k = self.n_gates()
        if is_size(Wx) or is_size(Wh):
            d = check_int(owner, "input_size", Wx)
            h = check_int(owner, "hidden_size", Wh)
            if b is not None:
                raise ValueError(f"{owner}: built from sizes ({d}, {h}), b must be left out, got {b!r}")
            init_rule(init)  # checks the name or number
            dtype = check_dtype(owner, dtype)
            Wx, Wh = np.empty((d, k * h), dtype=dtype), np.empty((h, k * h), dtype=dtype)
            b = np.empty(k * h, dtype=dtype)
            self._draw(Wx, Wh, b, init, make_rng(rng))
        elif b is None:
            raise ValueError(f"{owner}: give Wx, Wh and b arrays, or input_size and hidden_size")
        Wx, Wh, b = np.asarray(Wx), np.asarray(Wh), np.asarray(b)
        if Wh.ndim != 2 or Wh.shape[1] != k * Wh.shape[0]:
            raise ValueError(f"{owner}: Wh must have shape (H, {k}H) with the {k} gates side by side, "
                             f"got {Wh.shape}")
        h = Wh.shape[0]
        if Wx.ndim != 2 or Wx.shape[1] != k * h:
            raise ValueError(f"{owner}: Wx must have shape (D, {k * h}) to match Wh {Wh.shape}, got {Wx.shape}")
        if b.shape != (k * h,):
            raise ValueError(f"{owner}: b must have shape ({k * h},) to match Wh {Wh.shape}, got {b.shape}")
        if not Wx.dtype == Wh.dtype == b.dtype:
            raise ValueError(f"{owner}: Wx, Wh and b must share a dtype, got {Wx.dtype}, {Wh.dtype}, {b.dtype}")
        check_dtype(owner, Wx.dtype)
        self.Wx = Wx
        self.Wh = Wh
        self.b = b
        self.dWx = self.dWh = self.db = None  # gradients, set by backward
        self._cache = None  # kept by forward for backward

    @classmethod
    def n_gates(cls):
        """k, the number of gate blocks in ``Wx``, ``Wh`` and ``b``."""
        return len(GATE_ORDER[cls.kind])

    def extra_repr(self):
        return f"{self.input_size} -> {self.hidden_size}"

    @property
    def input_size(self):
        """D, the size of one step's input: rows of ``Wx``."""
        return self.Wx.shape[0]

    @property
    def hidden_size(self):
        """H, the size of the state ``h`` (and ``c`` for an LSTM): rows of ``Wh``, and
        the width of each gate's block of columns."""
        return self.Wh.shape[0]

    @classmethod
    def _draw(cls, Wx, Wh, b, init, rng):
        """Fill ``Wx``, ``Wh`` and ``b`` in that order, as the class docstring says."""
        k, h = cls.n_gates(), Wh.shape[0]
        init_(Wx, init, Wx.shape[0], Wx.shape[1], rng, blocks=k)
        init_(Wh, init, h, Wh.shape[1], rng, blocks=k)
        init_bias_(b, init, h, rng)

    def reset_parameters(self, init, rng):
        """Redraw ``Wx``, ``Wh`` and ``b`` as ``init`` says; other biases 0 (see the class docstring)."""
        self._draw(self.Wx, self.Wh, self.b, init, rng)
        for name in self.param_names:
            if name not in ("Wx", "Wh", "b"):
                getattr(self, name)[...] = 0

    @classmethod
    def from_torch(cls, weight_ih, weight_hh, bias_ih=None, bias_hh=None, **kwargs):
        """A layer from PyTorch's arrays (NumPy, e.g. ``module.weight_ih_l0.detach().numpy()``).

        ``kwargs`` go to the constructor (``stateful=True``). The mapping is in
        :mod:`bprop.layers.torch_weights`; the arrays are copied.
        """
        return cls(**weights_from_torch(cls.kind, weight_ih, weight_hh, bias_ih, bias_hh), **kwargs)

    def to_torch(self, suffix=""):
        """PyTorch's arrays for this layer: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.

        ``suffix='_l0'`` names them as ``nn.LSTM``'s state dict does. New arrays.
        """
        return weights_to_torch(self.kind, **self.params(), suffix=suffix)

    # --- shared by forward and backward of cells and Time layers -----------------
    def _check_states(self, states, n, dtype):
        """Each state as an (n, H) array of ``dtype`` (zeros for None), or a ValueError."""
        h = self.hidden_size
        out = []
        for name, s in states:
            if isinstance(s, bool):  # forward(x, train) called on a cell, as a network would
                raise ValueError(f"{self!r}: a cell's forward takes (x, {', '.join(n for n, _ in states)}), "
                                 f"got {name}={s!r}; over sequences in a network use Time{self.name}")
            if s is None:
                out.append(np.zeros((n, h), dtype=dtype))
                continue
            s = np.asarray(s)
            if s.shape != (n, h):
                raise ValueError(f"{self!r}: {name} must have shape ({n}, {h}) for a batch of {n}, got {s.shape}")
            out.append(s.astype(dtype, copy=False))
        return out

    def _param_grads(self, x2d, h_prev2d, dax2d, dah2d=None):
        """Gradients of ``Wx``, ``Wh``, ``b`` from all steps at once: one product each.

        ``x2d (M, D)`` and ``h_prev2d (M, H)`` are the inputs of M steps, ``dax2d (M, kH)``
        the gradient of their input side ``x Wx + b`` and ``dah2d`` that of their
        hidden side ``h_prev Wh`` (the same array except in a GRU).
        """
        if dah2d is None:
            dah2d = dax2d
        self.dWx = np.matmul(x2d.T, dax2d, out=self._grad_out("Wx"))
        self.dWh = np.matmul(h_prev2d.T, dah2d, out=self._grad_out("Wh"))
        self.db = np.sum(dax2d, axis=0, out=self._grad_out("b"))


class RecurrentCell(RecurrentWeights):
    """One time step of a recurrent layer: (N, D) in, (N, H) out, the state passed by hand.

    A cell takes the state as well as the input, so it is used inside other layers
    (or on its own) rather than in a :class:`~bprop.networks.Sequential`; its ``Time``
    layer runs it over a sequence. Each is built as ``Cell(Wx, Wh, b)`` or as
    ``Cell(input_size, hidden_size, init='xavier', rng=None, dtype=np.float64)``
    (see :class:`RecurrentWeights`).

    What RNN, LSTM and GRU share: the shape check and the input projection
    ``ax = x Wx + b``, done before the cell's own step.
    """

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.input_size,):
            raise ValueError(f"{self!r}: expects ({self.input_size},) per sample, got {tuple(input_shape)}")
        return (self.hidden_size,)

    def _project(self, x):
        """``(x, x Wx + b)`` after checking that x is (N, D)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{self!r}: x must have shape (N, {self.input_size}), got {x.shape}")
        ax = x @ self.Wx
        ax += self.b
        return x, ax
