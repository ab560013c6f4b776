"""Write ``conv_family_reference.npz``: outputs, gradients and output sizes of PyTorch's
``nn.Conv1d``, ``nn.ConvTranspose2d``, ``nn.AdaptiveAvgPool2d`` and ``nn.Upsample`` in
float64, which ``tests/test_conv1d.py``, ``tests/test_conv_transpose.py``,
``tests/test_global_pool.py`` and ``tests/test_upsample.py`` compare bprop's layers against.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_conv_family_reference.py

Every case builds the module in float64, sets each of its parameters (weight and bias) to
``0.3 * N(0, 1)`` from a fixed generator, runs it on a small fixed input ``x``, takes
``L = sum(y * dout)`` for a fixed ``dout`` and calls ``L.backward()``. The file holds,
under ``'<case>.<name>'``: ``x``, ``dout``, ``y``, ``dx``, ``config`` (the integers the
module was built with, listed below) and, for a module with parameters, ``weight``,
``bias``, ``grad.weight`` and ``grad.bias`` by their PyTorch names.

Cases (``config`` in brackets):

- ``conv1d``: ``nn.Conv1d(3, 4, 3, stride=2, padding=1)`` on x (2, 3, 8) [stride, padding];
- ``conv1d_pad``: ``nn.Conv1d(2, 3, 4, stride=1, padding=2)`` on x (2, 2, 5);
- ``convt``: ``nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)`` on
  x (2, 3, 4, 5) [stride, padding, output_padding];
- ``convt_rect``: ``nn.ConvTranspose2d(2, 3, (2, 3), stride=3, output_padding=2)`` on x (1, 2, 3, 2);
- ``adaptive1``: ``nn.AdaptiveAvgPool2d(1)`` on x (2, 3, 5, 4) [OH, OW];
- ``adaptive32``: ``nn.AdaptiveAvgPool2d((3, 2))`` on x (2, 3, 7, 5) (overlapping bins);
- ``adaptive_up``: ``nn.AdaptiveAvgPool2d((4, None))`` on x (1, 2, 3, 5) (more bins than
  rows; None, stored as -1, keeps W);
- ``upsample2``: ``nn.Upsample(scale_factor=2)`` on x (2, 3, 3, 4) [sh, sw];
- ``upsample23``: ``nn.Upsample(scale_factor=(2, 3))`` on x (1, 2, 2, 3).

Output sizes, from modules run on zero inputs: ``convt_sizes`` rows
``(H, W, kH, kW, stride, padding, output_padding, OH, OW)`` and ``conv1d_sizes`` rows
``(L, k, stride, padding, OL)``.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).with_name("conv_family_reference.npz")

# case -> (module, input shape, config)
CASES = {
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 8), (2, 1)),
    "conv1d_pad": (lambda: nn.Conv1d(2, 3, 4, stride=1, padding=2), (2, 2, 5), (1, 2)),
    "convt": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5), (2, 1, 1)),
    "convt_rect": (lambda: nn.ConvTranspose2d(2, 3, (2, 3), stride=3, output_padding=2), (1, 2, 3, 2), (3, 0, 2)),
    "adaptive1": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 4), (1, 1)),
    "adaptive32": (lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5), (3, 2)),
    "adaptive_up": (lambda: nn.AdaptiveAvgPool2d((4, None)), (1, 2, 3, 5), (4, -1)),
    "upsample2": (lambda: nn.Upsample(scale_factor=2), (2, 3, 3, 4), (2, 2)),
    "upsample23": (lambda: nn.Upsample(scale_factor=(2, 3)), (1, 2, 2, 3), (2, 3)),
}

# (H, W, kH, kW, stride, padding, output_padding)
CONVT_SIZES = [
    (4, 5, 3, 3, 1, 0, 0), (4, 5, 3, 3, 2, 1, 1), (4, 5, 3, 3, 2, 1, 0), (3, 3, 4, 4, 2, 1, 0),
    (3, 6, 2, 3, 3, 0, 2), (5, 2, 5, 5, 1, 2, 0), (1, 1, 3, 3, 2, 1, 1), (2, 7, 1, 1, 4, 0, 3),
    (6, 6, 4, 2, 3, 2, 1),
]
# (L, k, stride, padding)
CONV1D_SIZES = [(8, 3, 1, 0), (8, 3, 2, 1), (7, 3, 2, 1), (5, 5, 1, 2), (9, 4, 3, 0), (1, 1, 1, 0),
                (10, 2, 4, 3)]


def run(store, case, module, shape, config, gen):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    x = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    y = module(x)
    dout = torch.randn(y.shape, generator=gen, dtype=torch.float64)
    (y * dout).sum().backward()
    store[f"{case}.x"] = x.detach().numpy()
    store[f"{case}.dout"] = dout.numpy()
    store[f"{case}.y"] = y.detach().numpy()
    store[f"{case}.dx"] = x.grad.numpy()
    store[f"{case}.config"] = np.array(config)
    for name, p in module.named_parameters():
        store[f"{case}.{name}"] = p.detach().numpy()
        store[f"{case}.grad.{name}"] = p.grad.numpy()


def main():
    gen = torch.Generator().manual_seed(21)
    store = {}
    for case, (build, shape, config) in CASES.items():
        run(store, case, build().double(), shape, config, gen)
    rows = []
    for h, w, kh, kw, s, p, op in CONVT_SIZES:
        m = nn.ConvTranspose2d(1, 1, (kh, kw), stride=s, padding=p, output_padding=op)
        rows.append((h, w, kh, kw, s, p, op) + tuple(m(torch.zeros(1, 1, h, w)).shape[2:]))
    store["convt_sizes"] = np.array(rows)
    rows = []
    for length, k, s, p in CONV1D_SIZES:
        m = nn.Conv1d(1, 1, k, stride=s, padding=p)
        rows.append((length, k, s, p, m(torch.zeros(1, 1, length)).shape[2]))
    store["conv1d_sizes"] = np.array(rows)
    np.savez(OUT, **store)
    print(f"wrote {OUT} ({len(store)} arrays)")


if __name__ == "__main__":
    main()
