"""What ``TimeRNN``, ``TimeLSTM`` and ``TimeGRU`` share to run a cell over a sequence ``(N, T, D)``.

:class:`TimeRecurrent` holds the state at the start of a sequence (zeros, set by the
caller, or carried over from the last call when ``stateful``) and the gradient of that
state, on top of the weights of :class:`bprop.layers.recurrent.RecurrentWeights`.
"""

import numpy as np

from .recurrent import RecurrentWeights


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
        the whole sequence, so that only ``h Wh`` is left for the loop over time. ``ax`` is
        a view of step-major (T, N, kH) memory, in which each step's ``ax[:, t]`` is one
        contiguous block."""
        x = self._check_input(x)
        n, t_size, d = x.shape
        x2d = x.reshape(n * t_size, d)
        ax = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(t_size * n, d) @ self.Wx
        ax += self.b
        return x2d, ax.reshape(t_size, n, -1).transpose(1, 0, 2)

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
