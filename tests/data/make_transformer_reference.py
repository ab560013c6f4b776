"""Write ``transformer_reference.npz``: outputs and gradients of PyTorch's ``nn.LayerNorm``,
``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` in float64, which
``tests/test_layernorm.py``, ``tests/test_multihead_attention.py`` and
``tests/test_transformer.py`` compare bprop's layers against.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_transformer_reference.py

Every case builds the module in float64, sets each of its parameters to ``0.3 * N(0, 1)``
(biases included, which PyTorch would start at zero) from a fixed generator, runs it on a
small fixed input ``x``, takes ``L = sum(y * dout)`` for a fixed ``dout`` and calls
``L.backward()``. The file holds, under ``'<case>.<name>'``: ``x``, ``dout``, ``y``,
``dx`` and, for every parameter ``p`` by its PyTorch name, ``p`` and ``grad.p``; the
attention cases also hold ``weights``, the attention weights PyTorch returns (averaged
over the heads, or per head where the case says so), and the masks they were given.

Cases (N = 2 sequences of T = 5 positions, E = 8, H = 2 heads):

- ``layernorm``: ``nn.LayerNorm(8)`` on x (2, 5, 8);
- ``layernorm2d``: ``nn.LayerNorm((5, 8), eps=1e-3)`` on x (2, 5, 8);
- ``mha``: ``nn.MultiheadAttention(8, 2, batch_first=True)``, self-attention, no mask;
- ``mha_causal``: the same with the bool causal ``attn_mask`` (True above the diagonal);
- ``mha_masks``: a float ``attn_mask`` (T, T) with finite values and ``-inf`` where a key
  comes after its query, a bool ``key_padding_mask`` (N, T) hiding the last two keys of
  the second sequence, and the weights per head (``average_attn_weights=False``);
- ``block``: ``nn.TransformerEncoderLayer(8, 2, dim_feedforward=32, dropout=0,
  activation='gelu', norm_first=True, batch_first=True)``, no mask;
- ``block_causal``: the same with the bool causal ``src_mask``.

The modules run in training mode (dropout is 0), so PyTorch takes its general path, not
the fused inference kernels.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).with_name("transformer_reference.npz")
N, T, E, H = 2, 5, 8, 2


def randomise(module, gen):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))


def run(store, case, module, x, dout, call):
    """Run ``call(module, x)`` -> (y, extra dict), backpropagate ``dout``, store it all."""
    x = x.clone().requires_grad_(True)
    module.zero_grad()
    y, extra = call(module, x)
    (y * dout).sum().backward()
    store[f"{case}.x"] = x.detach().numpy()
    store[f"{case}.dout"] = dout.numpy()
    store[f"{case}.y"] = y.detach().numpy()
    store[f"{case}.dx"] = x.grad.numpy()
    for name, p in module.named_parameters():
        store[f"{case}.{name}"] = p.detach().numpy()
        store[f"{case}.grad.{name}"] = p.grad.numpy()
    for key, value in extra.items():
        store[f"{case}.{key}"] = value.detach().numpy() if torch.is_tensor(value) else value


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2024)
    store = {}

    def data(shape=(N, T, E)):
        return torch.randn(shape, generator=gen, dtype=torch.float64)

    for case, shape, eps in (("layernorm", E, 1e-5), ("layernorm2d", (T, E), 1e-3)):
        ln = nn.LayerNorm(shape, eps=eps, dtype=torch.float64)
        randomise(ln, gen)
        run(store, case, ln, data(), data(), lambda m, x: (m(x), {}))

    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    float_mask = 0.5 * torch.randn((T, T), generator=gen, dtype=torch.float64)
    float_mask = float_mask.masked_fill(causal, float("-inf"))
    padding = torch.zeros(N, T, dtype=torch.bool)
    padding[1, -2:] = True
    attention_cases = (
        ("mha", {}),
        ("mha_causal", {"attn_mask": causal}),
        ("mha_masks", {"attn_mask": float_mask, "key_padding_mask": padding, "average_attn_weights": False}),
    )
    for case, kwargs in attention_cases:
        mha = nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64)
        randomise(mha, gen)
        mha.train()

        def call(m, x, kwargs=kwargs):
            y, w = m(x, x, x, need_weights=True, **kwargs)
            extra = {"weights": w}
            extra.update({k: v for k, v in kwargs.items() if torch.is_tensor(v)})
            return y, extra

        run(store, case, mha, data(), data(), call)

    for case, mask in (("block", None), ("block_causal", causal)):
        block = nn.TransformerEncoderLayer(E, H, dim_feedforward=4 * E, dropout=0.0, activation="gelu",
                                           norm_first=True, batch_first=True, dtype=torch.float64)
        randomise(block, gen)
        block.train()
        run(store, case, block, data(), data(), lambda m, x, mask=mask: (m(x, src_mask=mask), {}))

    store["torch_version"] = np.array(torch.__version__)
    np.savez(OUT, **store)
    print(f"wrote {len(store)} arrays to {OUT}")


if __name__ == "__main__":
    main()
