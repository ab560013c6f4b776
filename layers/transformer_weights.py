"""How the weights of LayerNorm, MultiHeadAttention and TransformerBlock map to and from
PyTorch's ``nn.LayerNorm``, ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer``.

bprop multiplies ``x W`` (``W`` is (in, out)); PyTorch's ``nn.Linear`` multiplies
``x W^T`` (``weight`` is (out, in)). Porting is therefore a transpose of every weight
matrix, and nothing else: the query, key and value projections keep PyTorch's order
``[q | k | v]`` (row blocks of ``in_proj_weight``, column blocks of ``Wqkv``), and within
each, head ``h`` is block ``h`` of width ``E / H`` in both.

=======================  ==========================  ====================================
bprop                    shape                       PyTorch (``state_dict`` name, shape)
=======================  ==========================  ====================================
LayerNorm ``gamma``      normalized_shape            ``weight``
LayerNorm ``beta``       normalized_shape            ``bias``
Attention ``Wqkv``       (E, 3E)                     ``in_proj_weight`` (3E, E), transposed
Attention ``bqkv``       (3E,)                       ``in_proj_bias`` (3E,)
Attention ``Wo``         (E, E)                      ``out_proj.weight`` (E, E), transposed
Attention ``bo``         (E,)                        ``out_proj.bias`` (E,)
block ``norm1``          LayerNorm(E)                ``norm1.*``
block ``attn``           Attention                   ``self_attn.*``
block ``norm2``          LayerNorm(E)                ``norm2.*``
block ``linear1`` W, b   (E, F), (F,)                ``linear1.weight`` (F, E) transposed, ``linear1.bias``
block ``linear2`` W, b   (F, E), (E,)                ``linear2.weight`` (E, F) transposed, ``linear2.bias``
=======================  ==========================  ====================================

(F is ``dim_feedforward``, ``mlp_ratio * E`` in bprop.) A module built with ``bias=False``
has no bias arrays; they read as zeros. Both directions are exact: bprop -> PyTorch ->
bprop gives back the same numbers.
"""

import numpy as np

#: the sublayers of a TransformerBlock and the prefix of each in nn.TransformerEncoderLayer
BLOCK_PARTS = {"norm1": "norm1.", "attn": "self_attn.", "norm2": "norm2.", "linear1": "linear1.",
               "linear2": "linear2."}


def _get(state, name, shape=None, required=True):
    if name not in state:
        if required:
            raise ValueError(f"from_torch: the state has no {name!r} (it has {sorted(state)})")
        return None
    value = state[name]
    if hasattr(value, "detach"):  # a torch tensor handed over directly
        value = value.detach().cpu().numpy()
    a = np.asarray(value)
    if shape is not None and a.shape != shape:
        raise ValueError(f"from_torch: {name!r} must have shape {shape}, got {a.shape}")
    return a


def _zeros_if_none(a, n, like):
    return np.zeros(n, dtype=like.dtype) if a is None else a


def layernorm_from_torch(state, prefix=""):
    """``{'gamma', 'beta'}`` from ``nn.LayerNorm``'s ``weight`` and ``bias`` (copies)."""
    gamma = _get(state, prefix + "weight")
    beta = _get(state, prefix + "bias", gamma.shape, required=False)
    return {"gamma": gamma.copy(), "beta": np.zeros_like(gamma) if beta is None else beta.copy()}


def layernorm_to_torch(gamma, beta, prefix=""):
    """``{prefix + 'weight', prefix + 'bias'}`` for ``nn.LayerNorm`` (copies)."""
    return {prefix + "weight": np.array(gamma), prefix + "bias": np.array(beta)}


def attention_from_torch(state, prefix=""):
    """``{'Wqkv' (E, 3E), 'bqkv' (3E,), 'Wo' (E, E), 'bo' (E,)}`` from ``nn.MultiheadAttention``'s
    ``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight`` and ``out_proj.bias``.

    The module must have one packed input projection (the default, ``kdim = vdim = E``).
    """
    if prefix + "in_proj_weight" not in state and prefix + "q_proj_weight" in state:
        raise ValueError("from_torch: the attention has separate q/k/v projections (kdim or vdim != embed_dim); "
                         "only the packed in_proj_weight of self-attention maps to Wqkv")
    w = _get(state, prefix + "in_proj_weight")
    if w.ndim != 2 or w.shape[0] != 3 * w.shape[1]:
        raise ValueError(f"from_torch: {prefix}in_proj_weight must have shape (3E, E), got {w.shape}")
    e = w.shape[1]
    b = _get(state, prefix + "in_proj_bias", (3 * e,), required=False)
    wo = _get(state, prefix + "out_proj.weight", (e, e))
    bo = _get(state, prefix + "out_proj.bias", (e,), required=False)
    return {"Wqkv": np.ascontiguousarray(w.T), "bqkv": _zeros_if_none(b, 3 * e, w).copy(),
            "Wo": np.ascontiguousarray(wo.T), "bo": _zeros_if_none(bo, e, w).copy()}


def attention_to_torch(Wqkv, bqkv, Wo, bo, prefix=""):
    """``nn.MultiheadAttention``'s arrays for bprop's ``Wqkv, bqkv, Wo, bo`` (copies)."""
    return {prefix + "in_proj_weight": np.ascontiguousarray(np.transpose(Wqkv)),
            prefix + "in_proj_bias": np.array(bqkv),
            prefix + "out_proj.weight": np.ascontiguousarray(np.transpose(Wo)),
            prefix + "out_proj.bias": np.array(bo)}


def linear_from_torch(state, prefix=""):
    """``{'W' (in, out), 'b' (out,)}`` from ``nn.Linear``'s ``weight`` (out, in) and ``bias``."""
    w = _get(state, prefix + "weight")
    b = _get(state, prefix + "bias", (w.shape[0],), required=False)
    return {"W": np.ascontiguousarray(w.T), "b": _zeros_if_none(b, w.shape[0], w).copy()}


def linear_to_torch(W, b, prefix=""):
    """``nn.Linear``'s ``weight`` (out, in) and ``bias`` for bprop's ``W`` (in, out) and ``b``."""
    return {prefix + "weight": np.ascontiguousarray(np.transpose(W)), prefix + "bias": np.array(b)}


_FROM = {"norm1": layernorm_from_torch, "attn": attention_from_torch, "norm2": layernorm_from_torch,
         "linear1": linear_from_torch, "linear2": linear_from_torch}
_TO = {"norm1": layernorm_to_torch, "attn": attention_to_torch, "norm2": layernorm_to_torch,
       "linear1": linear_to_torch, "linear2": linear_to_torch}


def block_from_torch(state, prefix=""):
    """``{part: {attribute: array}}`` for each part of :data:`BLOCK_PARTS`, from the
    ``state_dict`` of an ``nn.TransformerEncoderLayer`` (arrays or tensors)."""
    return {part: _FROM[part](state, prefix + torch_prefix) for part, torch_prefix in BLOCK_PARTS.items()}


def block_to_torch(parts, prefix=""):
    """The ``state_dict`` of an ``nn.TransformerEncoderLayer`` (NumPy arrays, load with
    ``{k: torch.from_numpy(v) for k, v in ...}``) from ``{part: {attribute: array}}``."""
    out = {}
    for part, torch_prefix in BLOCK_PARTS.items():
        out.update(_TO[part](**parts[part], prefix=prefix + torch_prefix))
    return out
