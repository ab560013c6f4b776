"""How the weights of RNN, LSTM and GRU map to and from PyTorch's, as plain NumPy arrays.

bprop keeps the gates of a cell side by side in one matrix, in **PyTorch's gate order**,
so that porting weights is a transpose and a bias sum, never a permutation:

============  ==========  ================================  ====================
layer         gate order  bprop                             PyTorch
============  ==========  ================================  ====================
RNN, TimeRNN  (one)       ``Wx (D, H)``, ``Wh (H, H)``      ``nn.RNN``, ``nn.RNNCell``
LSTM, ...     i, f, g, o  ``Wx (D, 4H)``, ``Wh (H, 4H)``    ``nn.LSTM``, ``nn.LSTMCell``
GRU, ...      r, z, n     ``Wx (D, 3H)``, ``Wh (H, 3H)``    ``nn.GRU``, ``nn.GRUCell``
============  ==========  ================================  ====================

Column block ``j`` of ``Wx`` (columns ``j*H`` to ``(j+1)*H``) is gate ``j`` of the order.
PyTorch stores ``weight_ih (kH, D)`` and ``weight_hh (kH, H)`` with the gates as row
blocks in the same order, and two biases, ``bias_ih`` and ``bias_hh`` (each ``(kH,)``).
For ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` the names carry a layer suffix: ``weight_ih_l0``.

The mapping:

- ``Wx = weight_ih.T``, ``Wh = weight_hh.T``.
- RNN and LSTM: both biases are only ever added to the same pre-activation, so one
  bias holds them: ``b = bias_ih + bias_hh``.
- GRU: PyTorch computes ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; the hidden
  bias of the n gate sits *inside* the product with ``r`` and cannot be merged into
  ``b``. bprop keeps it as its own parameter ``bhn (H,)``:
  ``b = bias_ih + [b_hr, b_hz, 0]`` and ``bhn = b_hn`` (the last H entries of ``bias_hh``).

Back to PyTorch (:func:`weights_to_torch`): ``weight_ih = Wx.T``, ``weight_hh = Wh.T``,
``bias_ih = b`` and ``bias_hh`` zero except, for a GRU, its n block, which is ``bhn``.
Splitting one bias into two is not unique, so PyTorch -> bprop -> PyTorch gives back
biases that differ from the originals but a network that computes the same function;
bprop -> PyTorch -> bprop gives back exactly the same arrays.
"""

import numpy as np

#: gate order of each kind of cell, the same as PyTorch's
GATE_ORDER = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def _kind(kind):
    key = str(kind).lower()
    if key not in GATE_ORDER:
        raise ValueError(f"unknown recurrent cell kind {kind!r}; expected one of {sorted(GATE_ORDER)}")
    return key


def _check_torch(kind, weight_ih, weight_hh, bias_ih, bias_hh):
    k = len(GATE_ORDER[kind])
    weight_ih = np.asarray(weight_ih)
    weight_hh = np.asarray(weight_hh)
    if weight_hh.ndim != 2 or weight_hh.shape[0] != k * weight_hh.shape[1]:
        raise ValueError(
            f"{kind}: weight_hh must have shape ({k}*H, H) = ({k}H, H), got {weight_hh.shape}"
        )
    kh = weight_hh.shape[0]
    if weight_ih.ndim != 2 or weight_ih.shape[0] != kh:
        raise ValueError(f"{kind}: weight_ih must have shape ({kh}, D) to match weight_hh {weight_hh.shape}, "
                         f"got {weight_ih.shape}")
    dtype = np.result_type(weight_ih, weight_hh)
    biases = []
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        # bias=False in PyTorch: no bias arrays, the same as zero biases.
        bias = np.zeros(kh, dtype=dtype) if bias is None else np.asarray(bias)
        if bias.shape != (kh,):
            raise ValueError(f"{kind}: {name} must have shape ({kh},), got {bias.shape}")
        biases.append(bias)
    return weight_ih, weight_hh, biases[0], biases[1]


def weights_from_torch(kind, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """bprop's parameters from PyTorch's arrays of one cell (or one layer of nn.RNN/LSTM/GRU).

    Parameters
    ----------
    kind : 'rnn', 'lstm' or 'gru'.
    weight_ih : (kH, D) array, PyTorch's ``weight_ih`` / ``weight_ih_l0`` (k = 1, 4, 3).
    weight_hh : (kH, H) array.
    bias_ih, bias_hh : (kH,) arrays, or None for a PyTorch module built with ``bias=False``.

    Returns
    -------
    dict with ``'Wx' (D, kH)``, ``'Wh' (H, kH)``, ``'b' (kH,)`` and for a GRU ``'bhn' (H,)``:
    new contiguous arrays, ready for ``LSTM(**weights)`` or ``TimeGRU(**weights)``.
    """
    kind = _kind(kind)
    weight_ih, weight_hh, bias_ih, bias_hh = _check_torch(kind, weight_ih, weight_hh, bias_ih, bias_hh)
    h = weight_hh.shape[1]
    out = {"Wx": np.ascontiguousarray(weight_ih.T), "Wh": np.ascontiguousarray(weight_hh.T)}
    if kind == "gru":
        b = bias_ih.copy()
        b[: 2 * h] += bias_hh[: 2 * h]
        out["b"] = b
        out["bhn"] = bias_hh[2 * h:].copy()
    else:
        out["b"] = bias_ih + bias_hh
    return out


def weights_to_torch(kind, Wx, Wh, b, bhn=None, suffix=""):
    """PyTorch's arrays for bprop's parameters of one cell; see the module's docstring.

    Parameters
    ----------
    kind : 'rnn', 'lstm' or 'gru'.
    Wx : (D, kH), Wh : (H, kH), b : (kH,) arrays; bhn : (H,) for a GRU (None: zero).
    suffix : appended to every name: ``''`` for ``nn.LSTMCell``'s ``weight_ih``,
        ``'_l0'`` for ``nn.LSTM``'s ``weight_ih_l0``.

    Returns
    -------
    dict ``{'weight_ih' + suffix: (kH, D), 'weight_hh' + suffix: (kH, H),
    'bias_ih' + suffix: (kH,), 'bias_hh' + suffix: (kH,)}`` of new contiguous arrays.
    """
    kind = _kind(kind)
    Wx, Wh, b = np.asarray(Wx), np.asarray(Wh), np.asarray(b)
    k = len(GATE_ORDER[kind])
    h = Wh.shape[0]
    if Wh.shape != (h, k * h) or Wx.ndim != 2 or Wx.shape[1] != k * h or b.shape != (k * h,):
        raise ValueError(f"{kind}: expected Wx (D, {k}H), Wh (H, {k}H), b ({k}H,), "
                         f"got {Wx.shape}, {Wh.shape}, {b.shape}")
    bias_hh = np.zeros_like(b)
    if kind == "gru" and bhn is not None:
        bhn = np.asarray(bhn)
        if bhn.shape != (h,):
            raise ValueError(f"gru: bhn must have shape ({h},), got {bhn.shape}")
        bias_hh[2 * h:] = bhn
    elif bhn is not None:
        raise ValueError(f"{kind}: only a GRU has the separate hidden bias bhn")
    return {
        "weight_ih" + suffix: np.ascontiguousarray(Wx.T),
        "weight_hh" + suffix: np.ascontiguousarray(Wh.T),
        "bias_ih" + suffix: b.copy(),
        "bias_hh" + suffix: bias_hh,
    }
