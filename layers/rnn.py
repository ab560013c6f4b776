"""The Elman RNN with tanh: one step (RNN) and a whole sequence (TimeRNN)."""

import numpy as np

from .base import check_dout
from .recurrent import RecurrentCell
from .time_recurrent import TimeRecurrent


def rnn_step(ax, h_prev, Wh):
    """``h = tanh(ax + h_prev Wh)``, where ``ax = x Wx + b`` was computed beforehand.

    Shape: ax : (N, H); h_prev : (N, H); Wh : (H, H) -> h : (N, H), a new array.
    """
    a = h_prev @ Wh
    a += ax
    return np.tanh(a, out=a)


def rnn_step_backward(dh, h, Wh, out=None):
    """Backward of :func:`rnn_step` from its output ``h``: ``da = dh * (1 - h**2)``.

    Returns ``(da, dh_prev)``: ``da (N, H)`` the gradient of the pre-activation
    ``ax + h_prev Wh`` (written into ``out`` when given) and ``dh_prev = da Wh^T``.
    """
    da = np.multiply(h, h, out=out)
    np.subtract(1.0, da, out=da)
    da *= dh
    return da, da @ Wh.T


class RNN(RecurrentCell):
    """One step of an Elman RNN, ``h = tanh(x Wx + h_prev Wh + b)``.

    Used as every :class:`~bprop.layers.recurrent.RecurrentCell`; over a sequence use
    :class:`TimeRNN`.

    ``RNN(Wx, Wh, b)`` or ``RNN(input_size, hidden_size, init='xavier', rng=None,
    dtype=np.float64)``; see :class:`bprop.layers.recurrent.RecurrentWeights`.
    PyTorch's ``nn.RNNCell`` (tanh): ``Wx = weight_ih.T``, ``Wh = weight_hh.T``,
    ``b = bias_ih + bias_hh`` (:meth:`from_torch`, :meth:`to_torch`).

    Shape
    -----
    Wx : (D, H), Wh : (H, H), b : (H,).
    ``forward(x, h_prev=None)``: x : (N, D), h_prev : (N, H) (None: zeros) -> h : (N, H).
    ``backward(dh)``: dh : (N, H) -> ``(dx (N, D), dh_prev (N, H))``.

    Attributes
    ----------
    dWx, dWh, db : gradients set by ``backward``.
    """

    kind = "rnn"

    def forward(self, x, h_prev=None):
        x, ax = self._project(x)
        (h_prev,) = self._check_states([("h_prev", h_prev)], x.shape[0], ax.dtype)
        h = rnn_step(ax, h_prev, self.Wh)
        self._cache = (x, h_prev, h)
        return h

    def backward(self, dh):
        x, h_prev, h = self._need_cache(self._cache)
        check_dout(self, dh, h.shape)
        da, dh_prev = rnn_step_backward(dh, h, self.Wh)
        self._param_grads(x, h_prev, da)
        return da @ self.Wx.T, dh_prev


class TimeRNN(TimeRecurrent):
    """An Elman RNN over T steps, ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``; returns every h_t.

    The input side ``x Wx + b`` of all T steps is one matrix product; only ``h Wh`` is
    computed step by step. Backward runs the steps in reverse (backpropagation through
    time) and then forms ``dWx``, ``dWh`` and ``dx`` with one product each.

    ``TimeRNN(Wx, Wh, b, stateful=False)`` or ``TimeRNN(input_size, hidden_size,
    stateful=False, init='xavier', rng=None, dtype=np.float64)``; the carried state,
    :meth:`set_initial_state`, :meth:`reset_state` and ``dh0`` are explained in
    :class:`bprop.layers.recurrent.TimeRecurrent`. PyTorch: ``nn.RNN(D, H,
    batch_first=True)`` with ``Wx = weight_ih_l0.T``, ``Wh = weight_hh_l0.T``,
    ``b = bias_ih_l0 + bias_hh_l0``.

    Shape
    -----
    x : (N, T, D) -> hs : (N, T, H); ``backward(dhs)`` returns dx : (N, T, D).
    """

    kind = "rnn"
    default_name = "RNN"  # named RNN1, RNN2, ... in a network

    def forward(self, x, train=True):
        x2d, ax, (h,) = self._begin(x)
        n, t_size = ax.shape[:2]
        h0 = h
        hs = np.empty(ax.shape, dtype=ax.dtype)
        for t in range(t_size):
            h = rnn_step(ax[:, t], h, self.Wh)
            hs[:, t] = h
        self._end_state(h)
        self._cache = (x2d, h0, hs)
        return hs

    def backward(self, dhs):
        x2d, h0, hs = self._need_cache(self._cache)
        check_dout(self, dhs, hs.shape)
        n, t_size, _ = hs.shape
        da = np.empty_like(hs)
        dh = np.zeros_like(h0)
        for t in reversed(range(t_size)):
            _, dh = rnn_step_backward(dhs[:, t] + dh, hs[:, t], self.Wh, out=da[:, t])
        self.dh0 = dh
        h_prev = self._previous(h0, hs)
        da2d = da.reshape(n * t_size, -1)
        self._param_grads(x2d, h_prev.reshape(n * t_size, -1), da2d)
        return self._input_grad(da2d, (n, t_size, x2d.shape[1]))
