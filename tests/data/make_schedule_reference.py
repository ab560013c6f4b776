"""Write ``schedule_reference.json``: the learning rates PyTorch's own schedulers give over
whole runs, which ``tests/test_schedules.py`` compares ``bprop.optim.schedules`` against.

Run once where torch is installed (the tests do not need it)::

    python tests/data/make_schedule_reference.py

Each case drives a real ``torch.optim.lr_scheduler`` the way a training loop does (one
``step()`` per epoch or update) on an SGD optimizer of one parameter whose ``lr`` is the
base rate, and records the rate in force before each step: ``lrs[t]`` is the rate after
``t`` epochs (or updates) done, what ``lr_at(t)`` must return. ``WarmupCosine`` has no
PyTorch class; it is PyTorch's ``SequentialLR`` of a ``LinearLR`` warm-up from
``1 / warmup_steps`` over ``warmup_steps - 1`` steps and a ``CosineAnnealingLR`` of
``T_max = total_steps - warmup_steps``. ``ReduceLROnPlateau`` cases record the rate after
each epoch's ``step(metric)`` for a fixed sequence of metric values.
"""

import json
import math
import random
import warnings
from pathlib import Path

import torch
from torch.optim import lr_scheduler as sched

OUT = Path(__file__).with_name("schedule_reference.json")

# (class name, kwargs shared by torch's class and bprop's, base rate, values of t)
CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}, 0.1, 300),
    ("StepLR", {"step_size": 1, "gamma": 0.9}, 2.0, 300),
    ("StepLR", {"step_size": 30}, 0.05, 300),
    ("MultiStepLR", {"milestones": [30, 80, 81, 200], "gamma": 0.3}, 0.1, 300),
    ("MultiStepLR", {"milestones": [1, 2, 3, 250]}, 1.0, 300),
    ("ExponentialLR", {"gamma": 0.98}, 0.1, 300),
    ("ExponentialLR", {"gamma": 0.9}, 1.0, 300),
    ("ExponentialLR", {"gamma": 1.01}, 1e-3, 300),
    ("LinearLR", {}, 0.1, 50),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 40}, 0.3, 300),
    ("LinearLR", {"start_factor": 0.01, "end_factor": 1.0, "total_iters": 200}, 1.0, 300),
    ("CosineAnnealingLR", {"T_max": 50, "eta_min": 0.001}, 0.1, 300),
    ("CosineAnnealingLR", {"T_max": 300}, 0.1, 300),
    ("CosineAnnealingLR", {"T_max": 1000, "eta_min": 1e-5}, 0.5, 1000),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}, 0.1, 100),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 300}, None, None),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 300, "anneal_strategy": "linear"}, None, None),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 97, "pct_start": 0.3, "three_phase": True}, None, None),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 200, "pct_start": 0.25, "three_phase": True,
                    "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0}, None, None),
    ("OneCycleLR", {"max_lr": 2.0, "total_steps": 1000, "pct_start": 0.1}, None, None),
    ("WarmupCosine", {"warmup_steps": 20, "total_steps": 300}, 0.1, None),
    ("WarmupCosine", {"warmup_steps": 2, "total_steps": 100, "eta_min": 0.001}, 0.5, None),
    ("WarmupCosine", {"warmup_steps": 100, "total_steps": 1000, "eta_min": 1e-4}, 1.0, None),
]


def metric_sequence(n, seed):
    """A validation loss that falls, then wanders on a plateau, with some repeats."""
    rng = random.Random(seed)
    values = []
    for i in range(n):
        v = 2.0 * math.exp(-i / 15) + 0.3 + 0.02 * rng.uniform(-1, 1)
        values.append(round(v, 3) if i % 7 else (values[-1] if values else v))
    return values


# (kwargs shared by torch's class and bprop's, base rate, metric values)
PLATEAU_CASES = [
    ({"patience": 3, "factor": 0.5, "cooldown": 2, "min_lr": 1e-3}, 0.1, metric_sequence(120, 0)),
    ({"patience": 0, "factor": 0.1, "threshold": 0.05, "threshold_mode": "abs"}, 1.0, metric_sequence(120, 1)),
    ({"patience": 2, "factor": 0.7, "threshold": 0.0, "eps": 1e-3}, 0.01, metric_sequence(120, 2)),
    ({"mode": "max", "patience": 4, "factor": 0.2, "threshold": 0.01}, 0.1,
     [-v for v in metric_sequence(120, 3)]),
    ({"mode": "max", "patience": 1, "factor": 0.5, "threshold": 0.005, "threshold_mode": "abs",
      "cooldown": 3, "min_lr": 0.02}, 0.5, [1 - v / 3 for v in metric_sequence(120, 4)]),
]


def optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def run(scheduler, opt, n):
    """The rate before each of the first ``n + 1`` steps (t = 0 .. n)."""
    lrs = []
    for t in range(n + 1):
        lrs.append(float(opt.param_groups[0]["lr"]))
        if t < n:
            opt.step()
            scheduler.step()
    return lrs


def torch_scheduler(cls, kwargs, base_lr):
    opt = optimizer(1.0 if base_lr is None else base_lr)
    if cls == "WarmupCosine":
        w, total = kwargs["warmup_steps"], kwargs["total_steps"]
        warm = sched.LinearLR(opt, start_factor=1 / w, end_factor=1.0, total_iters=w - 1)
        cos = sched.CosineAnnealingLR(opt, T_max=total - w, eta_min=kwargs.get("eta_min", 0.0))
        return sched.SequentialLR(opt, [warm, cos], milestones=[w]), opt, total
    if cls == "OneCycleLR":
        return sched.OneCycleLR(opt, cycle_momentum=False, **kwargs), opt, kwargs["total_steps"]
    return getattr(sched, cls)(opt, **kwargs), opt, None


def main():
    warnings.simplefilter("ignore")
    cases = []
    for cls, kwargs, base_lr, n in CASES:
        scheduler, opt, horizon = torch_scheduler(cls, kwargs, base_lr)
        cases.append({"class": cls, "kwargs": kwargs, "base_lr": base_lr,
                      "lrs": run(scheduler, opt, n if horizon is None else horizon)})
    plateau = []
    for kwargs, base_lr, metrics in PLATEAU_CASES:
        opt = optimizer(base_lr)
        scheduler = sched.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for value in metrics:
            scheduler.step(value)
            lrs.append(float(opt.param_groups[0]["lr"]))
        plateau.append({"kwargs": kwargs, "base_lr": base_lr, "metrics": metrics, "lrs": lrs})
    OUT.write_text(json.dumps({"torch_version": torch.__version__, "cases": cases, "plateau": plateau},
                              indent=1) + "\n")
    print(f"wrote {len(cases)} schedules and {len(plateau)} plateau runs to {OUT}")


if __name__ == "__main__":
    main()
