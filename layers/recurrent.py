"""What the recurrent layers share: their weights, and the state the Time layers carry.

:class:`RecurrentWeights` is the base of the one-step cells ``RNN``, ``LSTM``, ``GRU``:
the weights ``Wx (D, kH)``, ``Wh (H, kH)``, ``b (kH,)`` with the k gates side by side
in PyTorch's order (see :mod:`bprop.layers.torch_weights`), built from arrays or sizes,
and the gradients of those weights from a whole batch of steps at once.

:class:`TimeRecurrent` adds what ``TimeRNN``, ``TimeLSTM``, ``TimeGRU`` need to run over
a sequence ``(N, T, D)``: the state at the start of a sequence (zeros, set by the caller,
or carried over from the last call when ``stateful``) and the gradient of that state.
"""

import numpy as np

from .base import Layer
from .checks import check_dtype, check_int, is_size
from .init import gaussian_, init_scale
from .rng import make_rng
from .torch_weights import GATE_ORDER, weights_from_torch, weights_to_torch


class RecurrentWeights(Layer):
    """Weights of a recurrent cell with ``k`` gates: ``Wx (D, kH)``, ``Wh (H, kH)``, ``b (kH,)``.

    Built from arrays, ``LSTM(Wx, Wh, b)``, or from sizes, ``LSTM(input_size, hidden_size,
    init='xavier', rng=0)``: ``Wx ~ N(0, s(D)**2)``, ``Wh ~ N(0, s(H)**2)`` with ``s`` from
    ``init`` and each matrix's own fan-in (D for Wx, H for Wh; see
    :func:`bprop.layers.init.init_scale`), ``b = 0``. The default 'xavier' gives the
    textbook's ``randn / sqrt(fan_in)``, which suits tanh and sigmoid.

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
            init_scale(init, 1)  # checks the name or number
            dtype = check_dtype(owner, dtype)
            Wx, Wh = np.empty((d, k * h), dtype=dtype), np.empty((h, k * h), dtype=dtype)
            b = np.zeros(k * h, dtype=dtype)
            self._draw(Wx, Wh, init, make_rng(rng))
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
        self.dWx = None
        self.dWh = None
        self.db = None
        self._cache = None  # what the subclass's forward keeps for its backward

    @classmethod
    def n_gates(cls):
        """k, the number of gate blocks in ``Wx``, ``Wh`` and ``b``."""
        return len(GATE_ORDER[cls.kind])

    @property
    def input_size(self):
        return self.Wx.shape[0]

    @property
    def hidden_size(self):
        return self.Wh.shape[0]

    def extra_repr(self):
        return f"{self.input_size} -> {self.hidden_size}"

    @staticmethod
    def _draw(Wx, Wh, init, rng):
        gaussian_(Wx, init, Wx.shape[0], rng)
        gaussian_(Wh, init, Wh.shape[0], rng)

    def reset_parameters(self, init, rng):
        """``Wx ~ N(0, s(D)**2)``, ``Wh ~ N(0, s(H)**2)``, biases 0 (see the class docstring)."""
        self._draw(self.Wx, self.Wh, init, rng)
        for name in self.param_names:
            if name not in ("Wx", "Wh"):
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


class TimeRecurrent(RecurrentWeights):
    """A recurrent cell run over a sequence, with the state at the start of each call.

    Takes the arguments of :class:`RecurrentWeights`, and these keywords:

    Parameters
    ----------
    stateful : bool, default False
        False: every ``forward`` starts from zeros (or from what
        :meth:`set_initial_state` set just before). True: it starts from the state the
        previous call ended in, for truncated backpropagation through time: the state
        carries over, the gradient does not flow back into the previous call.
    input_grad : bool, default True
        Whether ``backward`` computes ``dx``; a network clears it on its first layer.

    Attributes
    ----------
    h (and c for an LSTM) : (N, H) the state at the last step of the last ``forward``,
        which the next one starts from when ``stateful``; None after :meth:`reset_state`.
    dh0 (and dc0) : (N, H) gradient of the loss with respect to the state the last
        ``forward`` started from, set by ``backward``: what an encoder needs from a decoder.
    """

    #: the state carried between steps: ('h',) or, for an LSTM, ('h', 'c')
    state_names = ("h",)

    def __init__(self, Wx, Wh, b=None, *, stateful=False, input_grad=True, init="xavier", rng=None,
                 dtype=np.float64):
        super().__init__(Wx, Wh, b, init=init, rng=rng, dtype=dtype)
        self.stateful = bool(stateful)
        self.input_grad = input_grad
        for name in self.state_names:
            setattr(self, name, None)
            setattr(self, f"d{name}0", None)
        self._use_state = False  # set_initial_state was called: the next forward starts there

    def extra_repr(self):
        return super().extra_repr() + (", stateful=True" if self.stateful else "")

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.input_size:
            raise ValueError(f"{self!r}: expects (T, {self.input_size}) per sample, "
                             f"got input shape {tuple(input_shape)}")
        return (input_shape[0], self.hidden_size)

    def reset_state(self):
        """Forget the carried state: the next ``forward`` starts from zeros."""
        for name in self.state_names:
            setattr(self, name, None)
        self._use_state = False

    def set_initial_state(self, h, c=None):
        """Start the next ``forward`` from ``h`` (and, for an LSTM, ``c``; None is zeros).

        Both are (N, H), copied and cast to the weights' dtype. A stateful layer carries
        on from there; one that is not starts its following calls from zeros again.
        """
        if c is not None and "c" not in self.state_names:
            raise ValueError(f"{self!r}: has no cell state c, only h")
        h = np.array(h, dtype=self.Wh.dtype)
        if h.ndim != 2 or h.shape[1] != self.hidden_size:
            raise ValueError(f"{self!r}: h must have shape (N, {self.hidden_size}), got {h.shape}")
        states = {"h": h, "c": None if c is None else np.array(c, dtype=self.Wh.dtype)}
        for name in self.state_names:
            s = states[name]
            if s is not None and s.shape != h.shape:
                raise ValueError(f"{self!r}: {name} must have shape {h.shape} like h, got {s.shape}")
            setattr(self, name, s)
        self._use_state = True

    def state(self):
        s = {name: None if getattr(self, name) is None else getattr(self, name).copy()
             for name in self.state_names}
        s["use_state"] = self._use_state
        return s

    def set_state(self, state):
        for name in self.state_names:
            s = state[name]
            setattr(self, name, None if s is None else s.copy())
        self._use_state = state["use_state"]

    def _check_input(self, x):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{self!r}: input must be a non-empty batch of sequences (N, T, {self.input_size}), "
                             f"got shape {x.shape}")
        return x

    def _project(self, x):
        """``(x2d, ax)``: x (N, T, D) checked and flattened to (N*T, D), and the input
        projection of every step at once, ``ax = x Wx + b`` as (N, T, kH): one GEMM for
        the whole sequence, so that only ``h Wh`` is left for the loop over time."""
        x = self._check_input(x)
        n, t_size, d = x.shape
        x2d = x.reshape(n * t_size, d)
        ax = x2d @ self.Wx
        ax += self.b
        return x2d, ax.reshape(n, t_size, -1)

    def _begin(self, x):
        """The start of a forward over a sequence: ``(x2d, ax, states)``, the checked input,
        every step's input projection (:meth:`_project`) and the states the loop starts from
        (:meth:`_start_state`)."""
        x2d, ax = self._project(x)
        return x2d, ax, self._start_state(ax.shape[0], ax.dtype)

    def _start_state(self, n, dtype):
        """The states a forward starts from: carried or set, else zeros; each (n, H)."""
        use = self.stateful or self._use_state
        self._use_state = False
        states = []
        for name in self.state_names:
            s = getattr(self, name) if use else None
            if s is not None and s.shape[0] != n:
                raise ValueError(
                    f"{self!r}: the state {name} carried from the last call (or set) is for a batch of "
                    f"{s.shape[0]}, the input has {n} sequences; call reset_state() when the batch size changes"
                )
            states.append((name, s))
        return self._check_states(states, n, dtype)

    def _end_state(self, *states):
        """Keep the last step's state (copies: the caller may hold the arrays it came from)."""
        for name, s in zip(self.state_names, states):
            setattr(self, name, s.copy())

    def _input_grad(self, dax2d, shape):
        """``dx`` from the gradients of every step's ``x Wx``: one product, or None."""
        if not self.input_grad:
            return None
        return (dax2d @ self.Wx.T).reshape(shape)

    @staticmethod
    def _previous(h0, hs):
        """``(N, T, H)`` the state before each step: h0, then hs shifted by one step."""
        h_prev = np.empty_like(hs)
        h_prev[:, 0] = h0
        h_prev[:, 1:] = hs[:, :-1]
        return h_prev
