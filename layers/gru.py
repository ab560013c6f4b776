"""Gated recurrent unit: one step (GRU) and a whole sequence (TimeGRU), as PyTorch computes it.

The three gates sit side by side in PyTorch's order **r, z, n** (reset, update, new),
H columns each. With ``ax = x Wx + b`` and ``ah = h_prev Wh``:

    r = sigmoid(ax_r + ah_r)      z = sigmoid(ax_z + ah_z)
    n = tanh(ax_n + r * (ah_n + bhn))
    h = (1 - z) * n + z * h_prev

These are PyTorch's ``nn.GRU`` equations. The hidden-side bias of the n gate, ``bhn``,
is multiplied by ``r``, so unlike every other bias it cannot be folded into ``b``: it is
a parameter of its own. From PyTorch: ``Wx = weight_ih.T``, ``Wh = weight_hh.T``,
``b = bias_ih + [b_hr, b_hz, 0]``, ``bhn = b_hn`` (see :mod:`bprop.layers.torch_weights`).
With ``bhn = 0`` this is also the GRU of Cho et al. (2014) with the reset gate applied
after the product, as cuDNN does. Note that PyTorch's ``z`` keeps the old state
(``h = z * h_prev + ...``), where some texts write ``h = z * n + (1 - z) * h_prev``.
"""

import numpy as np

from .base import check_dout
from .functional import sigmoid_into
from .recurrent import RecurrentCell
from .time_recurrent import TimeRecurrent


def gru_step(ax, h_prev, Wh, bhn, gates=None):
    """One GRU step from ``ax = x Wx + b``, computed beforehand.

    Returns ``(h, gates, hn)``: the new state ``h (N, H)``, the activated gates
    ``(N, 3H)`` in the order r, z, n (written into ``gates`` when given) and
    ``hn = h_prev Wh_n + bhn (N, H)``, which the backward step needs.
    """
    hs = Wh.shape[0]
    ah = h_prev @ Wh
    if gates is None:
        gates = np.empty_like(ah)
    rz = gates[:, : 2 * hs]
    np.add(ax[:, : 2 * hs], ah[:, : 2 * hs], out=rz)
    sigmoid_into(rz, out=rz)
    r, z = gates[:, :hs], gates[:, hs: 2 * hs]
    hn = ah[:, 2 * hs:] + bhn
    n = gates[:, 2 * hs:]
    np.multiply(r, hn, out=n)
    n += ax[:, 2 * hs:]
    np.tanh(n, out=n)
    return n + z * (h_prev - n), gates, hn


def gru_step_backward(dh, h_prev, gates, hn, Wh, dax=None, dah=None):
    """Backward of :func:`gru_step`: ``dh (N, H)`` is the gradient of its output.

    Returns ``(dax, dah, dh_prev)``: the gradients of the input side ``ax (N, 3H)`` and
    of the hidden side ``ah = h_prev Wh (N, 3H)`` (written into ``dax`` and ``dah`` when
    given; they differ in the n block, where ``ah_n`` is multiplied by ``r``), and
    ``dh_prev = dh * z + dah Wh^T``. The gradient of ``bhn`` is the n block of ``dah``.
    """
    hs = Wh.shape[0]
    r, z, n = gates[:, :hs], gates[:, hs: 2 * hs], gates[:, 2 * hs:]
    if dax is None:
        dax = np.empty_like(gates)
    if dah is None:
        dah = np.empty_like(gates)
    dan = dh * (1.0 - z) * (1.0 - n * n)  # through n = tanh(an)
    dax[:, :hs] = dan * hn * r * (1.0 - r)
    dax[:, hs: 2 * hs] = dh * (h_prev - n) * z * (1.0 - z)
    dax[:, 2 * hs:] = dan
    dah[:, : 2 * hs] = dax[:, : 2 * hs]
    np.multiply(dan, r, out=dah[:, 2 * hs:])
    dh_prev = dah @ Wh.T
    dh_prev += dh * z
    return dax, dah, dh_prev


def _hidden_bias(owner, bhn, Wh):
    """``bhn`` as an (H,) array of Wh's dtype; None gives zeros."""
    h = Wh.shape[0]
    if bhn is None:
        return np.zeros(h, dtype=Wh.dtype)
    bhn = np.asarray(bhn)
    if bhn.shape != (h,) or bhn.dtype != Wh.dtype:
        raise ValueError(f"{owner}: bhn must be ({h},) of dtype {Wh.dtype} like Wh, got {bhn.shape} {bhn.dtype}")
    return bhn


class GRU(RecurrentCell):
    """One GRU step, ``h = GRU(x, h_prev)``, gates r, z, n as PyTorch's (see the module).

    Used as every :class:`~bprop.layers.recurrent.RecurrentCell`; over a sequence use
    :class:`TimeGRU`.

    ``GRU(Wx, Wh, b, bhn=None)`` (``bhn`` None: zeros) or ``GRU(input_size, hidden_size,
    init='xavier', rng=None, dtype=np.float64)``; see
    :class:`bprop.layers.recurrent.RecurrentWeights`. PyTorch's ``nn.GRUCell``:
    :meth:`from_torch`, :meth:`to_torch`.

    Shape
    -----
    Wx : (D, 3H), Wh : (H, 3H), b : (3H,), bhn : (H,).
    ``forward(x, h_prev=None)``: x : (N, D), h_prev : (N, H) (None: zeros) -> h : (N, H).
    ``backward(dh)`` -> ``(dx (N, D), dh_prev (N, H))``.

    Attributes
    ----------
    dWx, dWh, db, dbhn : gradients set by ``backward``.
    """

    kind = "gru"
    param_names = ("Wx", "Wh", "b", "bhn")

    def __init__(self, Wx, Wh, b=None, bhn=None, *, init="xavier", rng=None, dtype=np.float64):
        super().__init__(Wx, Wh, b, init=init, rng=rng, dtype=dtype)
        self.bhn = _hidden_bias("GRU", bhn, self.Wh)
        self.dbhn = None

    def forward(self, x, h_prev=None):
        x, ax = self._project(x)
        (h_prev,) = self._check_states([("h_prev", h_prev)], x.shape[0], ax.dtype)
        h, gates, hn = gru_step(ax, h_prev, self.Wh, self.bhn)
        self._cache = (x, h_prev, gates, hn)
        return h

    def backward(self, dh):
        x, h_prev, gates, hn = self._need_cache(self._cache)
        check_dout(self, dh, h_prev.shape)
        dax, dah, dh_prev = gru_step_backward(dh, h_prev, gates, hn, self.Wh)
        self._param_grads(x, h_prev, dax, dah)
        self.dbhn = np.sum(dah[:, 2 * self.hidden_size:], axis=0, out=self._grad_out("bhn"))
        return dax @ self.Wx.T, dh_prev


class TimeGRU(TimeRecurrent):
    """A GRU over T steps (gates r, z, n as PyTorch's); returns the hidden state of every step.

    The input side ``x Wx + b`` of all T steps is one matrix product; only ``h Wh`` is
    computed step by step, and backward forms ``dWx``, ``dWh`` and ``dx`` with one
    product each after the reversed loop over the steps.

    ``TimeGRU(Wx, Wh, b, bhn=None, stateful=False)`` or ``TimeGRU(input_size,
    hidden_size, stateful=False, init='xavier', rng=None, dtype=np.float64)``. The
    carried state, :meth:`set_initial_state`, :meth:`reset_state` and ``dh0`` are
    explained in :class:`bprop.layers.recurrent.TimeRecurrent`. PyTorch: ``nn.GRU(D, H,
    batch_first=True)``, ``TimeGRU.from_torch(weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0)``.

    Shape
    -----
    Wx : (D, 3H), Wh : (H, 3H), b : (3H,), bhn : (H,).
    x : (N, T, D) -> hs : (N, T, H); ``backward(dhs)`` returns dx : (N, T, D).

    Attributes
    ----------
    dWx, dWh, db, dbhn : gradients set by ``backward``.
    """

    kind = "gru"
    default_name = "GRU"  # named GRU1, GRU2, ... in a network
    param_names = ("Wx", "Wh", "b", "bhn")

    def __init__(self, Wx, Wh, b=None, bhn=None, *, stateful=False, input_grad=True, init="xavier",
                 rng=None, dtype=np.float64):
        super().__init__(Wx, Wh, b, stateful=stateful, input_grad=input_grad, init=init, rng=rng, dtype=dtype)
        self.bhn = _hidden_bias("TimeGRU", bhn, self.Wh)
        self.dbhn = None

    def forward(self, x, train=True):
        x2d, ax, (h,) = self._begin(x)
        n, t_size = ax.shape[:2]
        h0 = h
        gates = np.empty(ax.shape, dtype=ax.dtype)
        hs = np.empty((n, t_size, self.hidden_size), dtype=ax.dtype)
        hns = np.empty_like(hs)
        for t in range(t_size):
            h, _, hn = gru_step(ax[:, t], h, self.Wh, self.bhn, gates=gates[:, t])
            hs[:, t] = h
            hns[:, t] = hn
        self._end_state(h)
        self._cache = (x2d, h0, hs, hns, gates)
        return hs

    def backward(self, dhs):
        x2d, h0, hs, hns, gates = self._need_cache(self._cache)
        check_dout(self, dhs, hs.shape)
        n, t_size, hsize = hs.shape
        dax = np.empty_like(gates)
        dah = np.empty_like(gates)
        dh = np.zeros_like(h0)
        for t in reversed(range(t_size)):
            h_prev = hs[:, t - 1] if t > 0 else h0
            _, _, dh = gru_step_backward(dhs[:, t] + dh, h_prev, gates[:, t], hns[:, t], self.Wh,
                                         dax=dax[:, t], dah=dah[:, t])
        self.dh0 = dh
        h_prev = self._previous(h0, hs)
        dax2d = dax.reshape(n * t_size, -1)
        dah2d = dah.reshape(n * t_size, -1)
        self._param_grads(x2d, h_prev.reshape(n * t_size, -1), dax2d, dah2d)
        self.dbhn = np.sum(dah2d[:, 2 * hsize:], axis=0, out=self._grad_out("bhn"))
        return self._input_grad(dax2d, (n, t_size, x2d.shape[1]))
