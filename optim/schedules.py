"""Learning-rate schedules: Trainer callbacks that set ``optimizer.lr`` as the run goes.

Each schedule is an :class:`LRScheduler`, a :class:`~bprop.optim.callbacks.Callback` with
a pure method ``lr_at(t)``: the rate after ``t`` epochs (``interval='epoch'``) or ``t``
updates (``interval='step'``) done, ``t`` counted from 0. The hooks apply it::

    on_epoch_begin(trainer, epoch)   optimizer.lr = lr_at(epoch - 1)    # interval 'epoch'
    on_batch_begin(trainer, step)    optimizer.lr = lr_at(step)         # interval 'step'

The classes are named and parametrised as in ``torch.optim.lr_scheduler`` and give the
same rates over a whole run: ``lr_at(t)`` is PyTorch's documented closed form, equal to
what PyTorch's schedulers compute step by step (to rounding, about 1e-15 relative; see
each class for where the two can drift). ``base_lr`` is PyTorch's ``initial_lr``: given,
or read from ``optimizer.lr`` at the first ``on_fit_begin``, and kept in the state, so a
resumed run continues from the same base. :class:`ReduceLROnPlateau` depends on the
monitored values, not on ``t`` alone, and keeps all its bookkeeping in its state.

A schedule is found by name in :data:`SCHEDULES` (:func:`get_schedule`); any callable
``t -> lr`` becomes one with :class:`LambdaLR`.

:func:`make_schedule` gives the schedule a command line names (``--lr-schedule step``).

Where each lives: :mod:`optim.lr_scheduler` (the base :class:`LRScheduler`, and
:class:`LambdaLR`), :mod:`optim.step_schedules` (StepLR, MultiStepLR, ExponentialLR,
LinearLR), :mod:`optim.cosine_schedules` (CosineAnnealingLR, OneCycleLR, WarmupCosine),
:mod:`optim.plateau` (ReduceLROnPlateau).
"""

from bprop.layers.registry import Registry

from .cosine_schedules import CosineAnnealingLR, OneCycleLR, WarmupCosine
from .lr_scheduler import LambdaLR, LRScheduler
from .plateau import ReduceLROnPlateau
from .step_schedules import ExponentialLR, LinearLR, MultiStepLR, StepLR

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau", "WarmupCosine", "LambdaLR", "SCHEDULES", "get_schedule",
           "make_schedule"]


#: the schedules by name, for builders and command lines
SCHEDULES = Registry("lr schedule", {
    "step": StepLR,
    "multistep": MultiStepLR,
    "exponential": ExponentialLR,
    "linear": LinearLR,
    "cosine": CosineAnnealingLR,
    "onecycle": OneCycleLR,
    "plateau": ReduceLROnPlateau,
    "warmup_cosine": WarmupCosine,
}, fold_case=True)


def get_schedule(name, **kwargs):
    """Build a schedule by its name (case-insensitive): ``get_schedule('cosine', T_max=50)``."""
    return SCHEDULES.lookup(name)(**kwargs)


def as_schedule(schedule, optimizer):
    """The Trainer's ``schedule=``: an :class:`LRScheduler` as it is, any other callable
    ``epoch -> lr`` as :class:`LambdaLR`; the optimizer must have an ``lr`` to set."""
    if not hasattr(optimizer, "lr"):
        raise ValueError(f"Trainer: schedule needs an optimizer with an `lr`, got {optimizer!r}")
    if isinstance(schedule, LRScheduler):
        return schedule
    if not callable(schedule):
        raise ValueError(f"Trainer: schedule must be an LRScheduler or a callable epoch -> lr, got {schedule!r}")
    return LambdaLR(schedule)


#: the schedules a command line builds from its rate, ``--lr-step-size`` and ``--lr-gamma``
#: (the scripts' ``--lr-schedule`` choices, with 'none')
COMMAND_LINE_SCHEDULES = {
    "step": lambda lr0, step_size, gamma: StepLR(step_size, gamma, base_lr=lr0),
    "exponential": lambda lr0, step_size, gamma: ExponentialLR(gamma, base_lr=lr0),
}


def make_schedule(kind, lr0, step_size=10, gamma=0.5):
    """The schedule a command line names, from the rate ``lr0``: None or ``'none'`` (a constant
    rate: None), ``'step'`` (:class:`StepLR`) or ``'exponential'`` (:class:`ExponentialLR`)."""
    if kind is None or kind == "none":
        return None
    if kind not in COMMAND_LINE_SCHEDULES:
        choices = ", ".join(repr(k) for k in ("none", *COMMAND_LINE_SCHEDULES))
        raise ValueError(f"unknown lr schedule {kind!r}; choose {choices}")
    return COMMAND_LINE_SCHEDULES[kind](lr0, step_size, gamma)
