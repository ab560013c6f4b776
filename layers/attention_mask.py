"""Which keys a query may attend to, as one additive bias on the attention scores.

PyTorch's ``nn.MultiheadAttention`` takes two masks, and both mean the same in either of
two forms: a **bool** mask is True where attention is *not* allowed, a **float** mask is
added to the scores (``-inf`` forbids, any other value biases). Here every mask becomes a
float array of 0 and ``-inf`` (or the float values given), and they are summed:

- ``causal``: query ``i`` (at position ``start + i`` of its sequence) sees keys ``0 ..
  start + i`` only, the mask of a language model;
- ``attn_mask`` ``(T, S)``, one for every sequence and head, or ``(N * H, T, S)``, one per
  sequence and head (head ``h`` of sequence ``n`` at index ``n * H + h``, PyTorch's order);
- ``key_padding_mask`` ``(N, S)``: key ``s`` of sequence ``n`` is padding, seen by no query.

A query that may see no key at all has no softmax (PyTorch returns NaN for it): it is
refused with a ValueError instead.
"""

import numpy as np


def _as_bias(owner, name, mask, shape_text, dtype):
    """A bool mask as 0 / -inf, a float mask as it is, both in ``dtype``."""
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    if mask.dtype.kind != "f":
        raise ValueError(f"{owner}: {name} must be bool (True: masked) or float (added to the scores) "
                         f"{shape_text}, got dtype {mask.dtype}")
    return mask.astype(dtype, copy=False)


def causal_bias(t, s, start=0, dtype=np.float64):
    """``(t, s)``: 0 where key ``j <= start + i``, ``-inf`` where key ``j`` comes after query ``i``."""
    later = np.arange(s)[None, :] > start + np.arange(t)[:, None]
    return np.where(later, -np.inf, 0.0).astype(dtype)


def attention_bias(owner, n, h, t, s, *, causal=False, attn_mask=None, key_padding_mask=None,
                   start=0, dtype=np.float64):
    """The sum of every mask that applies, broadcastable to the scores ``(N, H, T, S)``.

    Parameters
    ----------
    owner : the name a ValueError starts with (the layer's repr).
    n, h, t, s : batch, heads, queries and keys.
    causal : bool; see the module docstring (``start``: the queries' first position).
    attn_mask : None, (T, S) or (N * H, T, S), bool or float.
    key_padding_mask : None or (N, S), bool or float.

    Returns
    -------
    None when no mask applies, else a float array of up to four axes, shaped to broadcast
    against ``(N, H, T, S)``.
    """
    parts = []
    if causal:
        parts.append(causal_bias(t, s, start, dtype))
    if attn_mask is not None:
        shape = np.shape(attn_mask)
        if shape == (t, s):
            parts.append(_as_bias(owner, "attn_mask", attn_mask, f"({t}, {s})", dtype))
        elif shape == (n * h, t, s):
            parts.append(_as_bias(owner, "attn_mask", attn_mask, f"({n * h}, {t}, {s})", dtype).reshape(n, h, t, s))
        else:
            raise ValueError(f"{owner}: attn_mask must have shape (T, S) = ({t}, {s}) or (N * num_heads, T, S) = "
                             f"({n * h}, {t}, {s}), got {shape}")
    if key_padding_mask is not None:
        shape = np.shape(key_padding_mask)
        if shape != (n, s):
            raise ValueError(f"{owner}: key_padding_mask must have shape (N, S) = ({n}, {s}), got {shape}")
        parts.append(_as_bias(owner, "key_padding_mask", key_padding_mask, f"({n}, {s})", dtype)
                     .reshape(n, 1, 1, s))
    if not parts:
        return None
    bias = parts[0]
    for part in parts[1:]:
        bias = bias + part
    blind = np.all(np.isneginf(bias), axis=-1)
    if blind.any():
        where = tuple(int(i) for i in np.argwhere(blind)[0])
        raise ValueError(f"{owner}: every key is masked for a query (index {where} of the mask's leading axes "
                         f"{blind.shape}): its attention weights would be 0 / 0")
    return bias
