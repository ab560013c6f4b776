"""Write ``optimizer_reference.json``: the parameters PyTorch's own optimizers reach, step by
step, which ``tests/test_optimizers_family.py`` compares ``bprop.optim``'s optimizers against.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_optimizer_reference.py

Every case starts from the same float64 parameters, ``W`` of shape (2, 3) and ``b`` of shape
(3,), and is fed the same 20 gradients, fixed in the file: drawn once from a seeded NumPy
generator, large for the first 6 steps and small after (so that AMSGrad's running maximum
of ``v`` differs from ``v``). The gradients do not depend on the parameters; weight decay
adds its ``weight_decay * p``, which does. ``trajectory[t]`` holds the parameters after
``t + 1`` calls of ``step()``, ``W`` flattened then ``b``.

Each case names the ``torch.optim`` class and its arguments, and the bprop optimizer and
its arguments that must give the same steps (``betas=(b1, b2)`` is ``beta1, beta2``;
RMSprop's ``alpha`` is ``decay_rate``; SGD with momentum is ``momentum``, with
``nesterov=True`` it is ``nesterov``). PyTorch runs in float64 throughout
(``torch.set_default_dtype``: its scalar state, NAdam's ``mu_product`` and the step counts,
is then float64 too), one tensor at a time (``foreach=False``).
"""

import json
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).with_name("optimizer_reference.json")
STEPS = 20
SHAPES = {"W": (2, 3), "b": (3,)}

# (torch class, its kwargs, bprop name, its kwargs)
CASES = [
    ("SGD", {"lr": 0.1}, "sgd", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}, "sgd", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, "momentum", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01}, "momentum",
     {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, "nesterov", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.7, "nesterov": True, "weight_decay": 0.02}, "nesterov",
     {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.02}),
    ("Adagrad", {"lr": 0.1}, "adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "weight_decay": 0.03}, "adagrad", {"lr": 0.1, "eps": 1e-6, "weight_decay": 0.03}),
    ("RMSprop", {"lr": 0.01}, "rmsprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01}, "rmsprop",
     {"lr": 0.01, "decay_rate": 0.9, "eps": 1e-6, "weight_decay": 0.01}),
    ("Adadelta", {}, "adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}, "adadelta",
     {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}, "adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}, "adam",
     {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}, "adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.9, 0.9), "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True}, "adam",
     {"lr": 0.01, "beta1": 0.9, "beta2": 0.9, "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}, "adamw", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}, "adamw",
     {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.0}, "adamw", {"lr": 0.01, "weight_decay": 0.0}),
    ("NAdam", {}, "nadam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.01, "momentum_decay": 0.01}, "nadam",
     {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.01, "momentum_decay": 0.01}),
    ("RAdam", {"lr": 0.01}, "radam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9), "weight_decay": 0.02}, "radam",
     {"lr": 0.01, "beta1": 0.9, "beta2": 0.9, "weight_decay": 0.02}),
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.99), "eps": 1e-6}, "radam",
     {"lr": 0.01, "beta1": 0.5, "beta2": 0.99, "eps": 1e-6}),
]


def start_and_gradients():
    """The starting parameters and the ``STEPS`` gradients, flat, as lists of floats."""
    rng = np.random.default_rng(2024)
    size = sum(int(np.prod(s)) for s in SHAPES.values())
    start = rng.uniform(0.5, 2.0, size) * rng.choice([-1.0, 1.0], size)
    grads = [rng.standard_normal(size) * (2.0 if t < 6 else 0.2) for t in range(STEPS)]
    return start.tolist(), [g.tolist() for g in grads]


def split(flat):
    """``flat`` as torch tensors of SHAPES, in order."""
    out, a = [], 0
    for shape in SHAPES.values():
        n = int(np.prod(shape))
        out.append(torch.tensor(flat[a:a + n], dtype=torch.float64).reshape(shape))
        a += n
    return out


def trajectory(cls, kwargs, start, grads):
    params = [torch.nn.Parameter(t) for t in split(start)]
    opt = getattr(torch.optim, cls)(params, foreach=False, **kwargs)
    path = []
    for g in grads:
        for p, gt in zip(params, split(g)):
            p.grad = gt
        opt.step()
        path.append([float(x) for p in params for x in p.detach().reshape(-1)])
    return path


def main():
    torch.set_default_dtype(torch.float64)
    start, grads = start_and_gradients()
    cases = []
    for cls, kwargs, name, ours in CASES:
        cases.append({"torch": cls, "torch_kwargs": kwargs, "optimizer": name, "kwargs": ours,
                      "trajectory": trajectory(cls, kwargs, start, grads)})
    OUT.write_text(json.dumps({"torch_version": torch.__version__, "shapes": SHAPES, "start": start,
                               "grads": grads, "cases": cases}) + "\n")
    print(f"wrote {len(cases)} optimizer runs of {STEPS} steps to {OUT}")


if __name__ == "__main__":
    main()
