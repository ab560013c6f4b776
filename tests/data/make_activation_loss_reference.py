"""Write ``activation_loss_reference.json``: what PyTorch's ELU, GELU, SiLU, Softplus, Softmax,
BCEWithLogitsLoss, MSELoss, L1Loss, HuberLoss and CrossEntropyLoss (label smoothing, sum)
compute, forward and backward, in float64, for fixed inputs. ``tests/test_smooth_activations.py``,
``tests/test_softmax_layer.py`` and ``tests/test_regression_losses.py`` compare bprop's layers
against it.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_activation_loss_reference.py

Every input is stored beside the outputs (JSON writes a float64 so that it reads back
bit for bit), so the tests feed bprop exactly what torch was fed. An activation case
records ``y = f(x)`` and ``dx``, the gradient of ``sum(y * dout)`` for a stored ``dout``;
a loss case records the loss and ``dx``, its gradient (``dout = 1``).
"""

import json
from pathlib import Path

import torch
from torch import nn

OUT = Path(__file__).with_name("activation_loss_reference.json")

#: the points every activation is evaluated at: both tails, around 0, the thresholds
EDGES = [-1000.0, -50.0, -30.0, -20.0, -5.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 2.5, 5.0,
         10.0, 10.5, 20.0, 20.5, 30.0, 50.0, 1000.0]

# (bprop class name, its kwargs, the torch module built with the same arguments)
ACTIVATIONS = [
    ("ELU", {}, nn.ELU()),
    ("ELU", {"alpha": 0.5}, nn.ELU(alpha=0.5)),
    ("ELU", {"alpha": -0.7}, nn.ELU(alpha=-0.7)),
    ("GELU", {}, nn.GELU()),
    ("GELU", {"approximate": "tanh"}, nn.GELU(approximate="tanh")),
    ("SiLU", {}, nn.SiLU()),
    ("Softplus", {}, nn.Softplus()),
    ("Softplus", {"beta": 2.0, "threshold": 10.0}, nn.Softplus(beta=2.0, threshold=10.0)),
    ("Softplus", {"beta": 0.5, "threshold": 1.0}, nn.Softplus(beta=0.5, threshold=1.0)),
]


def grad_of(fn, x, dout=None):
    """``(fn(x), d sum(fn(x) * dout) / dx)`` as lists (``dout = 1`` for a scalar ``fn``)."""
    x = x.clone().requires_grad_(True)
    y = fn(x)
    (y if dout is None else y * dout).sum().backward()
    value = y.item() if y.ndim == 0 else y.detach().tolist()
    return value, x.grad.tolist()


def activation_cases(gen):
    x = torch.cat([torch.tensor(EDGES, dtype=torch.float64),
                   3 * torch.randn(19, generator=gen, dtype=torch.float64)]).reshape(5, 8)
    dout = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    cases = []
    for name, kwargs, module in ACTIVATIONS:
        y, dx = grad_of(module, x, dout)
        cases.append({"layer": name, "kwargs": kwargs, "x": x.tolist(), "dout": dout.tolist(), "y": y, "dx": dx})
    return cases


def softmax_cases(gen):
    x = 4 * torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)
    x[1, 2] = torch.tensor([1000.0, -1000.0, 999.0, 0.0], dtype=torch.float64)
    dout = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    cases = []
    for axis in (0, 1, 2, -1, -3):
        y, dx = grad_of(nn.Softmax(dim=axis), x, dout)
        cases.append({"axis": axis, "x": x.tolist(), "dout": dout.tolist(), "y": y, "dx": dx})
    return cases


def elementwise_loss_cases(gen):
    x = 3 * torch.randn(4, 5, generator=gen, dtype=torch.float64)
    x[0, :3] = torch.tensor([1000.0, -1000.0, 0.0], dtype=torch.float64)
    t_real = 2 * torch.randn(4, 5, generator=gen, dtype=torch.float64)
    t_real[1, :2] = x[1, :2]  # equal pairs: L1's gradient is 0 there
    t_real[2, 0] = x[2, 0] + 0.5  # |d| == delta for delta = 0.5
    t_labels = (torch.rand(4, 5, generator=gen, dtype=torch.float64) > 0.5).double()
    t_probs = torch.rand(4, 5, generator=gen, dtype=torch.float64)
    specs = [
        ("SigmoidWithLoss", {}, t_labels, lambda r: nn.BCEWithLogitsLoss(reduction=r)),
        ("SigmoidWithLoss", {}, t_probs, lambda r: nn.BCEWithLogitsLoss(reduction=r)),
        ("MeanSquaredError", {}, t_real, lambda r: nn.MSELoss(reduction=r)),
        ("L1Loss", {}, t_real, lambda r: nn.L1Loss(reduction=r)),
        ("HuberLoss", {}, t_real, lambda r: nn.HuberLoss(reduction=r)),
        ("HuberLoss", {"delta": 0.5}, t_real, lambda r: nn.HuberLoss(reduction=r, delta=0.5)),
        ("HuberLoss", {"delta": 3.0}, t_real, lambda r: nn.HuberLoss(reduction=r, delta=3.0)),
    ]
    cases = []
    for name, kwargs, t, make in specs:
        for reduction in ("mean", "sum"):
            loss, dx = grad_of(lambda x_: make(reduction)(x_, t), x)
            cases.append({"layer": name, "kwargs": dict(kwargs, reduction=reduction), "x": x.tolist(),
                          "t": t.tolist(), "loss": loss, "dx": dx})
    return cases


def cross_entropy_cases(gen):
    x = 3 * torch.randn(6, 4, generator=gen, dtype=torch.float64)
    x[0] = torch.tensor([1000.0, -1000.0, 0.0, 999.0], dtype=torch.float64)
    labels = torch.randint(0, 4, (6,), generator=gen)
    probs = torch.softmax(torch.randn(6, 4, generator=gen, dtype=torch.float64), dim=1)
    cases = []
    for t in (labels, probs):
        for eps in (0.0, 0.1, 0.35, 1.0):
            for reduction in ("mean", "sum"):
                loss, dx = grad_of(
                    lambda x_: nn.CrossEntropyLoss(label_smoothing=eps, reduction=reduction)(x_, t), x)
                cases.append({"kwargs": {"label_smoothing": eps, "reduction": reduction}, "x": x.tolist(),
                              "t": t.tolist(), "loss": loss, "dx": dx})
    return cases


def main():
    gen = torch.Generator().manual_seed(21)
    reference = {
        "torch_version": torch.__version__,
        "activations": activation_cases(gen),
        "softmax": softmax_cases(gen),
        "elementwise_losses": elementwise_loss_cases(gen),
        "cross_entropy": cross_entropy_cases(gen),
    }
    OUT.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
