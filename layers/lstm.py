"""Long short-term memory: one step (LSTM) and a whole sequence (TimeLSTM).

The four gates sit side by side in PyTorch's order **i, f, g, o** (input, forget,
cell candidate, output), H columns each. With ``a = x Wx + h_prev Wh + b``:

    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c = f * c_prev + i * g                h = o * tanh(c)

which are PyTorch's ``nn.LSTM`` equations with ``Wx = weight_ih.T``, ``Wh = weight_hh.T``
and ``b = bias_ih + bias_hh`` (see :mod:`bprop.layers.torch_weights`). The textbook
(Saito, *Deep Learning from Scratch 2*) orders the gates f, g, i, o; its weights map to
these by moving its column blocks ``[f, g, i, o]`` to ``[i, f, g, o]``.
"""

import numpy as np

from .base import check_dout
from .compiled import compiled
from .recurrent import RecurrentCell
from .time_recurrent import TimeRecurrent


def gate_scale(hs, dtype):
    """``s`` (4H,): 1/2 on the sigmoid gates' columns (i, f, o), 1 on g's.

    Every gate is then ``s * tanh(s * a) + (1 - s)``: ``sigmoid(a) = (1 + tanh(a / 2)) / 2``
    for i, f, o and ``tanh(a)`` for g, so one tanh over the whole ``(N, 4H)`` activates all four.
    """
    s = np.full(4 * hs, 0.5, dtype=dtype)
    s[2 * hs: 3 * hs] = 1.0
    return s


def lstm_step(ax, h_prev, c_prev, Wh, out=None, scale=None):
    """One LSTM step from ``ax = x Wx + b``, computed beforehand.

    Returns ``(h, c, gates, tanh_c)``: the new state ``h, c (N, H)``, the activated
    gates ``(N, 4H)`` in the order i, f, g, o and ``tanh(c)``, which is all the backward
    step needs besides ``c_prev``. ``out``, optional, is the four arrays to write them
    into (a sequence's buffers), ``scale`` the :func:`gate_scale` of H and the dtype.
    """
    hs = Wh.shape[0]
    if out is None:
        out = (np.empty_like(c_prev), np.empty_like(c_prev), np.empty_like(ax), np.empty_like(c_prev))
    h, c, gates, tanh_c = out
    s = gate_scale(hs, gates.dtype) if scale is None else scale
    # a = h_prev Wh + ax; i, f, o = sigmoid(a) and g = tanh(a), as s * tanh(s * a) + (1 - s)
    a = np.matmul(h_prev, Wh, out=gates)
    scaled_sum(a, ax, s)  # a = s * (h_prev Wh + ax)
    np.tanh(a, out=a)
    gates_and_cell(gates, s, c_prev, c)  # the gates, and c = f * c_prev + i * g
    np.tanh(c, out=tanh_c)
    np.multiply(gates[:, 3 * hs:], tanh_c, out=h)  # h = o * tanh(c)
    return h, c, gates, tanh_c


@compiled
def scaled_sum(a, ax, s):
    """``a = (a + ax) * s`` in place, element by element; a, ax : (N, 4H), s : (4H,)."""
    for r in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[r, j] = (a[r, j] + ax[r, j]) * s[j]


@compiled
def gates_and_cell(gates, s, c_prev, c):
    """From ``gates = tanh(s * a)`` (N, 4H), in place, the activated gates
    ``s * gates + (1 - s)`` (i, f, o = sigmoid(a), g = tanh(a)), and the new cell state

        c = f * c_prev + i * g

    into ``c`` (N, H), in one pass (:mod:`bprop.layers.compiled`)."""
    n, hs = c.shape
    one = np.ones(1, dtype=gates.dtype)[0]
    for r in range(n):
        for j in range(4 * hs):
            gates[r, j] = gates[r, j] * s[j] + (one - s[j])
        for j in range(hs):
            c[r, j] = gates[r, hs + j] * c_prev[r, j] + gates[r, j] * gates[r, 2 * hs + j]


def lstm_step_backward(dh, dc, gates, c_prev, tanh_c, Wh_t, out=None):
    """Backward of :func:`lstm_step`: ``dh``, ``dc`` are the gradients of its outputs.

    Returns ``(da, dh_prev, dc_prev)``: ``da (N, 4H)`` the gradient of the
    pre-activation ``a`` (:func:`gate_grads`), ``dh_prev = da Wh^T`` and ``dc_prev``.
    ``Wh_t`` is ``Wh^T`` (4H, H): a sequence passes one C-contiguous copy for all its
    steps, with which the product runs about a quarter faster than with the view ``Wh.T``.
    ``out``, optional, is the three arrays to write them into; its ``dc_prev`` may be
    ``dc`` itself.
    """
    if out is None:
        out = (np.empty_like(gates), np.empty_like(dh), np.empty_like(dh))
    da, dh_prev, dc_prev = out
    gate_grads(dh, dc, gates, c_prev, tanh_c, da, dc_prev)
    np.matmul(da, Wh_t, out=dh_prev)
    return da, dh_prev, dc_prev


@compiled
def gate_grads(dh, dc, gates, c_prev, tanh_c, da, dc_prev):
    """``da``, the gradient of the pre-activation, and ``dc_prev``, element by element:

        dc_t = dc + dh * o * (1 - tanh(c)^2)     (from the next step, and through h = o tanh(c))
        da_i = dc_t * g * i * (1 - i)            da_f = dc_t * c_prev * f * (1 - f)
        da_g = dc_t * i * (1 - g^2)              da_o = dh * tanh(c) * o * (1 - o)
        dc_prev = dc_t * f

    dh, dc, c_prev, tanh_c : (N, H); gates : (N, 4H) activated, i, f, g, o; da : (N, 4H) and
    dc_prev : (N, H) written (``dc_prev`` may be ``dc``). One compiled pass
    (:mod:`bprop.layers.compiled`) instead of some twenty over whole arrays.
    """
    n, hs = dc.shape
    one = np.ones(1, dtype=da.dtype)[0]
    for r in range(n):
        for j in range(hs):
            i, f, g, o = gates[r, j], gates[r, hs + j], gates[r, 2 * hs + j], gates[r, 3 * hs + j]
            tc = tanh_c[r, j]
            dc_t = dc[r, j] + dh[r, j] * o * (one - tc * tc)
            da[r, j] = dc_t * g * i * (one - i)
            da[r, hs + j] = dc_t * c_prev[r, j] * f * (one - f)
            da[r, 2 * hs + j] = dc_t * i * (one - g * g)
            da[r, 3 * hs + j] = dh[r, j] * tc * o * (one - o)
            dc_prev[r, j] = dc_t * f


class LSTM(RecurrentCell):
    """One LSTM step: ``(h, c) = LSTM(x, h_prev, c_prev)``, gates i, f, g, o (see the module).

    Used as every :class:`~bprop.layers.recurrent.RecurrentCell`; over a sequence use
    :class:`TimeLSTM`.

    ``LSTM(Wx, Wh, b)`` or ``LSTM(input_size, hidden_size, init='xavier', rng=None,
    dtype=np.float64)``; see :class:`bprop.layers.recurrent.RecurrentWeights`.
    PyTorch's ``nn.LSTMCell``: :meth:`from_torch`, :meth:`to_torch`.

    Shape
    -----
    Wx : (D, 4H), Wh : (H, 4H), b : (4H,).
    ``forward(x, h_prev=None, c_prev=None)``: x : (N, D), states (N, H) (None: zeros)
    -> ``(h, c)`` each (N, H).
    ``backward(dh, dc=None)`` -> ``(dx (N, D), dh_prev (N, H), dc_prev (N, H))``.

    Attributes
    ----------
    dWx, dWh, db : gradients set by ``backward``.
    """

    kind = "lstm"

    def forward(self, x, h_prev=None, c_prev=None):
        x, ax = self._project(x)
        h_prev, c_prev = self._check_states([("h_prev", h_prev), ("c_prev", c_prev)], x.shape[0], ax.dtype)
        h, c, gates, tanh_c = lstm_step(ax, h_prev, c_prev, self.Wh)
        self._cache = (x, h_prev, c_prev, gates, tanh_c)
        return h, c

    def backward(self, dh, dc=None):
        x, h_prev, c_prev, gates, tanh_c = self._need_cache(self._cache)
        check_dout(self, dh, h_prev.shape)
        if dc is None:
            dc = np.zeros_like(c_prev)
        check_dout(self, dc, c_prev.shape)
        da, dh_prev, dc_prev = lstm_step_backward(dh, dc, gates, c_prev, tanh_c, self.Wh.T)
        self._param_grads(x, h_prev, da)
        return da @ self.Wx.T, dh_prev, dc_prev


class TimeLSTM(TimeRecurrent):
    """An LSTM over T steps; returns the hidden state of every step.

    The input side ``x Wx + b`` of all T steps is one matrix product, ``(N*T, D) @ Wx``;
    only ``h Wh`` is computed step by step. Backward runs the steps in reverse
    (backpropagation through time), keeping the gradient of every step's
    pre-activation, and then forms ``dWx``, ``dWh`` and ``dx`` with one product each.
    Everything stays in the dtype of the input and weights.

    ``TimeLSTM(Wx, Wh, b, stateful=False)`` or ``TimeLSTM(input_size, hidden_size,
    stateful=False, init='xavier', rng=None, dtype=np.float64)``. The carried state
    ``h, c``, :meth:`set_initial_state` ``(h, c=None)``, :meth:`reset_state` and the
    gradients ``dh0, dc0`` of the initial state are explained in
    :class:`bprop.layers.recurrent.TimeRecurrent`. PyTorch: ``nn.LSTM(D, H,
    batch_first=True)``, ``TimeLSTM.from_torch(weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0)``; :meth:`to_torch` ``(suffix='_l0')``.

    Shape
    -----
    Wx : (D, 4H), Wh : (H, 4H), b : (4H,).
    x : (N, T, D) -> hs : (N, T, H); ``backward(dhs, dc=None)`` returns dx : (N, T, D);
    ``dc (N, H)`` is the gradient of the final cell state, when something used it.
    """

    kind = "lstm"
    default_name = "LSTM"  # named LSTM1, LSTM2, ... in a network
    state_names = ("h", "c")

    def forward(self, x, train=True):
        x2d, ax, (h, c) = self._begin(x)
        n, t_size = ax.shape[:2]
        h0, c0 = h, c
        # every step writes into these: its h into hs (N, T, H), its cache into rows t of
        # the step-major (T, N, .) buffers, whose rows are contiguous for the products
        hs = np.empty((n, t_size, self.hidden_size), dtype=ax.dtype)
        gates = np.empty((t_size, n, ax.shape[2]), dtype=ax.dtype)
        cs = np.empty((t_size, n, self.hidden_size), dtype=ax.dtype)
        tanh_cs = np.empty_like(cs)
        scale = gate_scale(self.hidden_size, ax.dtype)
        for t in range(t_size):
            h, c, _, _ = lstm_step(ax[:, t], h, c, self.Wh, out=(hs[:, t], cs[t], gates[t], tanh_cs[t]), scale=scale)
        self._end_state(h, c)
        self._cache = (x2d, h0, c0, hs, cs, tanh_cs, gates)
        return hs

    def backward(self, dhs, dc=None):
        """Backpropagation through time from ``dhs (N, T, H)``, the gradient of every step's h.

        ``dc (N, H)``, optional, is the gradient with respect to the cell state the last
        step ended in (the ``c`` an encoder hands its decoder); None counts as zero. The
        final ``h`` needs no such argument: it is ``hs[:, -1]``, whose gradient is in ``dhs``.
        Returns ``dx (N, T, D)`` (None without ``input_grad``) and sets ``dh0``, ``dc0``.
        """
        x2d, h0, c0, hs, cs, tanh_cs, gates = self._need_cache(self._cache)
        check_dout(self, dhs, hs.shape)
        n, t_size, _ = hs.shape
        da = np.empty((n, t_size, gates.shape[2]), dtype=gates.dtype)
        dh = np.zeros_like(h0)
        dh_next = np.empty_like(h0)  # dh of the step, from the loss and from the step after it
        if dc is None:
            dc = np.zeros_like(c0)
        else:
            dc = np.array(dc, dtype=c0.dtype)
            if dc.shape != c0.shape:
                raise ValueError(f"{self!r}.backward: dc must have the shape of the final cell state "
                                 f"{c0.shape}, got {dc.shape}")
        Wh_t = np.ascontiguousarray(self.Wh.T)  # one copy for the T products da Wh^T
        for t in reversed(range(t_size)):
            c_prev = cs[t - 1] if t > 0 else c0
            np.add(dhs[:, t], dh, out=dh_next)
            lstm_step_backward(dh_next, dc, gates[t], c_prev, tanh_cs[t], Wh_t, out=(da[:, t], dh, dc))
        self.dh0, self.dc0 = dh, dc
        h_prev = self._previous(h0, hs)
        da2d = da.reshape(n * t_size, -1)
        self._param_grads(x2d, h_prev.reshape(n * t_size, -1), da2d)
        return self._input_grad(da2d, (n, t_size, x2d.shape[1]))
