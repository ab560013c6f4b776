"""Write ``bilstm_reference.npz``: what PyTorch's bidirectional ``nn.LSTM`` computes on a small
batch, which ``tests/test_bilstm.py`` compares ``bprop.layers.bilstm.TimeBiLSTM`` against.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_bilstm_reference.py

One ``nn.LSTM(3, 4, batch_first=True, bidirectional=True)`` in float64, its weights drawn by
PyTorch's own initialisation from seed 0 (both biases kept, so the test exercises the sum
``b = bias_ih + bias_hh``), runs on ``x (2, 5, 3)``; ``sum(output * dout)`` for a fixed
``dout (2, 5, 8)`` is backpropagated. The file holds the module's state dict under PyTorch's
names (``weight_ih_l0``, ..., ``bias_hh_l0_reverse``), ``x``, ``dout``, ``output``, ``dx``
and the gradient of every weight as ``grad_<name>``.
"""

from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).with_name("bilstm_reference.npz")


def main():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True).double()
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    dout = torch.tensor(rng.standard_normal((2, 5, 8)))
    output, _ = lstm(x)
    (output * dout).sum().backward()
    arrays = {name: p.detach().numpy() for name, p in lstm.named_parameters()}
    arrays.update({f"grad_{name}": p.grad.numpy() for name, p in lstm.named_parameters()})
    arrays.update(x=x.detach().numpy(), dout=dout.numpy(), output=output.detach().numpy(), dx=x.grad.numpy())
    np.savez(OUT, **arrays)
    print(f"wrote {OUT}: {', '.join(sorted(arrays))}")


if __name__ == "__main__":
    main()
