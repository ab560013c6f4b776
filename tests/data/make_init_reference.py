"""Write ``init_reference.json``: the scales, fans and orthogonal matrices of PyTorch's
``torch.nn.init`` and of the default initialisation of ``nn.Linear`` and ``nn.Conv2d``,
which ``tests/test_init.py`` compares ``bprop.layers.init`` against.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_init_reference.py

PyTorch does not report the scale it draws with, so each case reads it off the draw:
an init function run on a float64 tensor with a seeded generator, next to the unit draw
of the same generator seeded the same way (``normal_(0, 1)`` for a normal init,
``uniform_(-1, 1)`` for a uniform one). The draw is ``scale * unit``, so the least-squares
ratio ``sum(w * unit) / sum(unit**2)`` is the scale to about 1e-15. Weight shapes are
PyTorch's: ``(out_features, in_features)`` for a Linear, ``(FN, C, FH, FW)`` for a conv.

``orthogonal`` cases store the Gaussian matrix PyTorch starts from (the first draw of the
seeded generator, shape ``(rows, prod(rest))``) and the matrix ``orthogonal_`` returns, so
that the test runs bprop's QR and sign correction on the very same Gaussian.
"""

import json
import math
from pathlib import Path

import torch
from torch import nn

OUT = Path(__file__).with_name("init_reference.json")

#: PyTorch weight shapes: Linear (out, in) and Conv2d (FN, C, FH, FW)
SHAPES = [(100, 784), (10, 100), (7, 3), (30, 1, 5, 5), (16, 3, 3, 3), (64, 32, 3, 3)]

#: (bprop name, torch function, its keyword arguments, 'normal' or 'uniform')
INITS = [
    ("kaiming_normal", nn.init.kaiming_normal_, {"nonlinearity": "relu"}, "normal"),
    ("kaiming_normal", nn.init.kaiming_normal_, {}, "normal"),  # a=0, leaky_relu: the same gain sqrt(2)
    ("kaiming_uniform", nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, "uniform"),
    ("kaiming_uniform", nn.init.kaiming_uniform_, {}, "uniform"),
    ("xavier_normal", nn.init.xavier_normal_, {}, "normal"),
    ("xavier_uniform", nn.init.xavier_uniform_, {}, "uniform"),
    ("torch_default", nn.init.kaiming_uniform_, {"a": math.sqrt(5)}, "uniform"),  # Linear/Conv's weight rule
]

#: shapes given to orthogonal_: wide, tall, square, a conv bank, a recurrent gate block
ORTHOGONAL_SHAPES = [(3, 5), (5, 3), (4, 4), (2, 3, 2, 2), (6, 6)]


def ratio(w, unit):
    """The least-squares ``s`` of ``w = s * unit``."""
    return float((w * unit).sum() / (unit * unit).sum())


def unit_draw(shape, kind, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.empty(shape, dtype=torch.float64)
    return t.normal_(0, 1, generator=g) if kind == "normal" else t.uniform_(-1, 1, generator=g)


def init_cases():
    cases = []
    for seed, shape in enumerate(SHAPES):
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        for name, fn, kwargs, kind in INITS:
            w = torch.empty(shape, dtype=torch.float64)
            fn(w, generator=torch.Generator().manual_seed(seed), **kwargs)
            cases.append({"name": name, "torch": f"{fn.__name__}({kwargs})", "shape": list(shape),
                          "fan_in": fan_in, "fan_out": fan_out, "kind": kind,
                          "scale": ratio(w, unit_draw(shape, kind, seed))})
    return cases


def module_default_cases():
    """nn.Linear's and nn.Conv2d's own reset_parameters: weight bound and bias bound."""
    cases = []
    for seed, shape in enumerate(SHAPES):
        torch.manual_seed(seed)
        if len(shape) == 2:
            module = nn.Linear(shape[1], shape[0], dtype=torch.float64)
        else:
            module = nn.Conv2d(shape[1], shape[0], shape[2:], dtype=torch.float64)
        torch.manual_seed(seed)  # the same stream: weight first, then bias
        unit_w = torch.empty(shape, dtype=torch.float64).uniform_(-1, 1)
        unit_b = torch.empty(shape[0], dtype=torch.float64).uniform_(-1, 1)
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(module.weight)
        cases.append({"module": type(module).__name__, "shape": list(shape), "fan_in": fan_in,
                      "fan_out": fan_out, "weight_bound": ratio(module.weight.detach(), unit_w),
                      "bias_bound": ratio(module.bias.detach(), unit_b)})
    return cases


def orthogonal_cases():
    cases = []
    for seed, shape in enumerate(ORTHOGONAL_SHAPES):
        rows = shape[0]
        cols = math.prod(shape[1:])
        gaussian = torch.empty((rows, cols), dtype=torch.float64).normal_(
            0, 1, generator=torch.Generator().manual_seed(seed))
        w = torch.empty(shape, dtype=torch.float64)
        nn.init.orthogonal_(w, generator=torch.Generator().manual_seed(seed))
        cases.append({"shape": list(shape), "gaussian": gaussian.tolist(), "q": w.reshape(rows, cols).tolist()})
    return cases


def main():
    data = {"torch_version": torch.__version__, "inits": init_cases(),
            "module_defaults": module_default_cases(), "orthogonal": orthogonal_cases()}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
