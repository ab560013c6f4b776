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
"""

import bisect
import math
import numbers

from bprop.layers.checks import check_int, check_positive
from bprop.layers.registry import Registry

from .callbacks import Callback
from .checkpoint import StateError, check_count, check_mapping, check_real
from .early_stopping import monitor_mode

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau", "WarmupCosine", "LambdaLR", "SCHEDULES", "get_schedule",
           "make_schedule"]

INTERVALS = ("epoch", "step")


def _check_real(owner, name, value, low=0.0, high=math.inf, low_open=False, high_open=False):
    """``value`` as a finite float in the interval from ``low`` to ``high`` (each end
    closed unless ``*_open``), or a ValueError naming ``owner``, ``name`` and the value."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        x = float(value)
        ok = (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open or high == math.inf else "]"
        raise ValueError(f"{owner}: {name} must be a finite number in {left}{low!r}, {high!r}{right}, "
                         f"got {value!r}")
    return x


def _check_choice(owner, name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


class LRScheduler(Callback):
    """Base class of the learning-rate schedules: sets ``trainer.optimizer.lr`` to
    ``lr_at(epoch - 1)`` at ``on_epoch_begin`` (``interval='epoch'``) or to ``lr_at(step)``
    at ``on_batch_begin`` (``interval='step'``).

    A subclass writes its formula once, in ``_rate(t)`` (``self.base_lr`` is known there),
    lists its constructor's arguments in ``params`` (for ``repr``), and may override
    ``_check_base(base_lr)`` (arguments that depend on the base rate, such as ``eta_min``)
    and ``horizon`` (the last ``t`` the schedule is defined for).

    Parameters
    ----------
    interval : 'epoch' or 'step', what ``t`` counts.
    base_lr : float > 0 or None. None: ``trainer.optimizer.lr`` at the first
        ``on_fit_begin``; from then on it is kept, also through ``state_dict``.

    Attributes
    ----------
    horizon : None, or the largest ``t`` for which the schedule is defined;
        ``on_fit_begin`` refuses a run that would need more.
    """

    #: constructor arguments shown by ``repr``, in order (``interval`` and ``base_lr`` follow)
    params = ()
    horizon = None

    def __init__(self, interval="epoch", base_lr=None):
        name = type(self).__name__
        self.interval = _check_choice(name, "interval", interval, INTERVALS)
        self.base_lr = check_positive(name, "base_lr", base_lr, allow_none=True)
        if self.base_lr is not None:
            self._check_base(self.base_lr)

    # --- the formula -----------------------------------------------------------------
    def lr_at(self, t):
        """The rate after ``t`` epochs or updates done (``t`` an int >= 0)."""
        name = type(self).__name__
        t = check_int(name, "t", t, 0)
        if self.horizon is not None and t > self.horizon:
            raise ValueError(f"{name}: t={t} is past the end of the schedule, total_steps={self.horizon}")
        if self.base_lr is None:
            raise ValueError(f"{name}: base_lr is not known yet; pass base_lr=... or let on_fit_begin "
                             f"read it from the optimizer")
        return float(self._rate(t))

    def _rate(self, t):
        raise NotImplementedError(f"{type(self).__name__} must define _rate(t)")

    def _check_base(self, base_lr):
        """Refuse arguments that do not fit ``base_lr`` (nothing to check here)."""

    # --- the hooks -------------------------------------------------------------------
    def on_fit_begin(self, trainer):
        name = type(self).__name__
        if self.base_lr is None:
            base_lr = check_positive(name, "base_lr (the optimizer's lr)", trainer.optimizer.lr)
            self._check_base(base_lr)
            self.base_lr = base_lr
        if self.horizon is not None:
            need = trainer.total_steps if self.interval == "step" else trainer.n_epochs
            what = "trainer.total_steps" if self.interval == "step" else "trainer.n_epochs"
            if need > self.horizon:
                raise ValueError(f"{name}: the run needs {need} {self.interval}s ({what}) but the "
                                 f"schedule has total_steps={self.horizon}")

    def on_epoch_begin(self, trainer, epoch):
        if self.interval == "epoch":
            trainer.optimizer.lr = self.lr_at(epoch - 1)

    def on_batch_begin(self, trainer, step):
        if self.interval == "step":
            trainer.optimizer.lr = self.lr_at(step)

    # --- state -----------------------------------------------------------------------
    def state_dict(self):
        """``{'schedule': class name, 'base_lr': float or None}``: the rate depends on ``t``
        and the base alone, so the base is all a resumed run needs."""
        return {"schedule": type(self).__name__, "base_lr": self.base_lr}

    def check_state_dict(self, state, trainer=None):
        """Raise a :class:`~bprop.optim.checkpoint.StateError` if :meth:`load_state_dict`
        would refuse ``state``: of this class, and ``base_lr`` None or a finite number > 0
        that fits this schedule (and equals its own ``base_lr`` when it has one)."""
        name = type(self).__name__
        check_mapping(name, "", state, ("schedule", "base_lr"))
        if state["schedule"] != name:
            raise StateError(name, "schedule", f"must be {name!r}: got {state['schedule']!r}",
                             f"{name}: the state is of a {state['schedule']!r} schedule")
        base_lr = check_real(name, "base_lr", state["base_lr"], low=0.0, low_open=True, allow_none=True)
        if base_lr is not None:
            if self.base_lr is not None and self.base_lr != base_lr:
                raise StateError(name, "base_lr", f"must be this schedule's base_lr={self.base_lr!r}: got {base_lr!r}",
                                 f"{name}: the state has base_lr={base_lr!r}, this schedule base_lr={self.base_lr!r}")
            try:
                self._check_base(base_lr)
            except ValueError as err:
                raise StateError(name, "base_lr", f"does not fit this schedule ({err}): got {base_lr!r}") from None

    def load_state_dict(self, state):
        self.check_state_dict(state)
        base_lr = state["base_lr"]
        self.base_lr = float(base_lr) if base_lr is not None else self.base_lr

    def __repr__(self):
        args = [f"{p}={getattr(self, p)!r}" for p in self.params]
        args += [f"interval={self.interval!r}", f"base_lr={self.base_lr!r}"]
        return f"{type(self).__name__}({', '.join(args)})"


class StepLR(LRScheduler):
    """``lr(t) = base_lr * gamma ** (t // step_size)``: multiplied by ``gamma`` every
    ``step_size`` epochs (PyTorch's ``StepLR``).

    Parameters
    ----------
    step_size : int >= 1, epochs (or steps) between two decays.
    gamma : float > 0, the factor of each decay.
    interval, base_lr : see :class:`LRScheduler`.
    """

    params = ("step_size", "gamma")

    def __init__(self, step_size, gamma=0.1, interval="epoch", base_lr=None):
        self.step_size = check_int("StepLR", "step_size", step_size, 1)
        self.gamma = check_positive("StepLR", "gamma", gamma)
        super().__init__(interval, base_lr)

    def _rate(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """``lr(t) = base_lr * gamma ** (number of milestones <= t)``: multiplied by ``gamma``
    when ``t`` reaches each milestone (PyTorch's ``MultiStepLR``).

    Parameters
    ----------
    milestones : strictly increasing ints >= 1. (PyTorch counts a repeated milestone
        twice; here a repeat is refused, as a typo more often than an intent.)
    gamma : float > 0, the factor of each decay.
    interval, base_lr : see :class:`LRScheduler`.
    """

    params = ("milestones", "gamma")

    def __init__(self, milestones, gamma=0.1, interval="epoch", base_lr=None):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise ValueError(f"MultiStepLR: milestones must be a list of integers >= 1, got {milestones!r}")
        milestones = list(milestones)
        ms = [check_int("MultiStepLR", "milestones", m, 1) for m in milestones]
        if not ms or any(b <= a for a, b in zip(ms, ms[1:])):
            raise ValueError(f"MultiStepLR: milestones must be a non-empty, strictly increasing list "
                             f"(sorted, no repeats), got {milestones!r}")
        self.milestones = ms
        self.gamma = check_positive("MultiStepLR", "gamma", gamma)
        super().__init__(interval, base_lr)

    def _rate(self, t):
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """``lr(t) = base_lr * gamma ** t`` (PyTorch's ``ExponentialLR``). PyTorch multiplies
    the previous rate by ``gamma`` each step; the product drifts from the power by at most
    a rounding per step (measured against PyTorch 2.13: 1.4e-15 relative after 300 steps).

    Parameters
    ----------
    gamma : float > 0, the factor per epoch (or step).
    interval, base_lr : see :class:`LRScheduler`.
    """

    params = ("gamma",)

    def __init__(self, gamma, interval="epoch", base_lr=None):
        self.gamma = check_positive("ExponentialLR", "gamma", gamma)
        super().__init__(interval, base_lr)

    def _rate(self, t):
        return self.base_lr * self.gamma ** t


class LinearLR(LRScheduler):
    """``lr(t) = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)``:
    the factor moves linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    epochs, then stays (PyTorch's ``LinearLR``, a common warm-up).

    Parameters
    ----------
    start_factor : float in (0, 1], the factor at ``t = 0``.
    end_factor : float in [0, 1], the factor from ``t = total_iters`` on.
    total_iters : int >= 1.
    interval, base_lr : see :class:`LRScheduler`.
    """

    params = ("start_factor", "end_factor", "total_iters")

    def __init__(self, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, interval="epoch", base_lr=None):
        self.start_factor = _check_real("LinearLR", "start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = _check_real("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_int("LinearLR", "total_iters", total_iters, 1)
        super().__init__(interval, base_lr)

    def _rate(self, t):
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                               * min(self.total_iters, t) / self.total_iters)


class CosineAnnealingLR(LRScheduler):
    """``lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``: half a
    cosine from ``base_lr`` at ``t = 0`` down to ``eta_min`` at ``t = T_max`` (PyTorch's
    ``CosineAnnealingLR``, SGDR without restarts).

    Past ``T_max`` the formula goes on, so the rate climbs back towards ``base_lr`` over the
    next ``T_max`` epochs, as PyTorch's does; use ``T_max`` = the number of epochs.

    PyTorch steps the rate recursively,
    ``lr(t) = eta_min + (lr(t-1) - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))``;
    at ``t = T_max`` both give ``eta_min`` exactly (``cos(pi) = -1``), and PyTorch restarts
    its recursion from there with a special case. The two agree to about 1e-15 relative
    within the first ``T_max`` epochs; past it the recursion carries its rounding from one
    period to the next, so the difference grows with the number of periods (measured
    against PyTorch 2.13: 4e-15 after 3000 epochs of ``T_max=1000``, 8e-14 after 300 epochs
    of ``T_max=3``). The closed form here has no such drift.

    Parameters
    ----------
    T_max : int >= 1, epochs (or steps) of the half cosine.
    eta_min : float, 0 <= eta_min <= base_lr, the rate at ``T_max`` (checked when
        ``base_lr`` is known).
    interval, base_lr : see :class:`LRScheduler`.
    """

    params = ("T_max", "eta_min")

    def __init__(self, T_max, eta_min=0.0, interval="epoch", base_lr=None):
        self.T_max = check_int("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = _check_real("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(interval, base_lr)

    def _check_base(self, base_lr):
        if self.eta_min > base_lr:
            raise ValueError(f"CosineAnnealingLR: eta_min must be <= base_lr={base_lr!r}, got {self.eta_min!r}")

    def _rate(self, t):
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin, *Super-Convergence*), as PyTorch's ``OneCycleLR``:
    from ``initial = max_lr / div_factor`` up to ``max_lr`` over the first
    ``pct_start * total_steps - 1`` steps, then down to ``min = initial / final_div_factor``
    at step ``total_steps - 1``. With ``three_phase`` the way down first mirrors the way up
    (to ``initial`` at step ``2 * pct_start * total_steps - 2``) and then goes to ``min``.

    Within a phase from step ``s0`` (value ``a``) to ``s1`` (value ``b``), with
    ``p = (t - s0) / (s1 - s0)``: ``lr = b + (a - b) / 2 * (1 + cos(pi * p))``
    (``anneal_strategy='cos'``) or ``lr = (b - a) * p + a`` (``'linear'``), computed in
    PyTorch's order of operations, so the rates are PyTorch's to the last bit.

    The optimizer's own ``lr`` is not used: the base rate is ``max_lr / div_factor``,
    so there is no ``base_lr`` argument. PyTorch's momentum cycling is not part of this
    class (it sets only ``lr``).

    The schedule is defined for ``t <= total_steps`` (PyTorch raises past it);
    ``on_fit_begin`` raises a ValueError naming both counts when the run has more updates
    (``trainer.total_steps``, or ``trainer.n_epochs`` with ``interval='epoch'``) than
    ``total_steps``.

    Parameters
    ----------
    max_lr : float > 0, the peak rate.
    total_steps : int >= 1, updates of the cycle (usually ``trainer.total_steps``).
    pct_start : float in (0, 1), the fraction of the cycle spent rising; every phase must
        get a positive length (``pct_start * total_steps > 1``, and with ``three_phase``
        also ``2 * pct_start * total_steps < total_steps + 1``), where PyTorch would divide
        by zero or skip a phase.
    anneal_strategy : 'cos' or 'linear'.
    div_factor : float > 0, ``max_lr / initial``.
    final_div_factor : float > 0, ``initial / min``.
    three_phase : bool.
    interval : 'step' (default, as PyTorch's is used) or 'epoch'.
    """

    params = ("max_lr", "total_steps", "pct_start", "anneal_strategy", "div_factor", "final_div_factor",
              "three_phase")

    def __init__(self, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, interval="step"):
        name = "OneCycleLR"
        self.max_lr = check_positive(name, "max_lr", max_lr)
        self.total_steps = check_int(name, "total_steps", total_steps, 1)
        self.pct_start = _check_real(name, "pct_start", pct_start, 0.0, 1.0, low_open=True, high_open=True)
        self.anneal_strategy = _check_choice(name, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = check_positive(name, "div_factor", div_factor)
        self.final_div_factor = check_positive(name, "final_div_factor", final_div_factor)
        if three_phase not in (True, False):
            raise ValueError(f"{name}: three_phase must be True or False, got {three_phase!r}")
        self.three_phase = bool(three_phase)
        self.initial_lr = self.max_lr / self.div_factor
        self.min_lr = self.initial_lr / self.final_div_factor
        # (end step, start rate, end rate) of each phase, as PyTorch lays them out
        rise_end = float(self.pct_start * self.total_steps) - 1
        if self.three_phase:
            self.phases = [(rise_end, self.initial_lr, self.max_lr),
                           (float(2 * self.pct_start * self.total_steps) - 2, self.max_lr, self.initial_lr),
                           (self.total_steps - 1, self.initial_lr, self.min_lr)]
        else:
            self.phases = [(rise_end, self.initial_lr, self.max_lr),
                           (self.total_steps - 1, self.max_lr, self.min_lr)]
        start = 0.0
        for i, (end, _, _) in enumerate(self.phases):
            if not end - start > 0:
                raise ValueError(f"{name}: pct_start={self.pct_start!r} with total_steps={self.total_steps} "
                                 f"leaves phase {i + 1} of {len(self.phases)} no step (it would end at "
                                 f"step {end!r}, after step {start!r})")
            start = end
        super().__init__(interval, self.initial_lr)

    @property
    def horizon(self):
        return self.total_steps

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _rate(self, t):
        start_step = 0.0
        for i, (end_step, start_lr, end_lr) in enumerate(self.phases):
            if t <= end_step or i == len(self.phases) - 1:
                return self._anneal(start_lr, end_lr, (t - start_step) / (end_step - start_step))
            start_step = end_step

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.params)
        return f"OneCycleLR({args}, interval={self.interval!r})"


class WarmupCosine(LRScheduler):
    """Linear warm-up, then a half cosine down to ``eta_min`` at ``total_steps``::

        lr(s) = base_lr * (s + 1) / warmup_steps                                   s < warmup_steps
        lr(s) = eta_min + (base_lr - eta_min) * (1 + cos(pi * (s - W) / (T - W))) / 2   W <= s <= T

    with ``W = warmup_steps``, ``T = total_steps``. The warm-up counts the update it is for
    (``s + 1``), so the first update already moves (``base_lr / W``, not 0) and the last
    warm-up update, ``s = W - 1``, is at ``base_lr``; the cosine starts at ``base_lr`` at
    ``s = W`` and reaches ``eta_min`` at ``s = T``, i.e. just after the last update of a
    run of ``T`` updates. ``warmup_steps=0`` is the plain cosine, PyTorch's
    ``CosineAnnealingLR(T_max=total_steps)``.

    The schedule is defined for ``s <= total_steps``; ``on_fit_begin`` raises a ValueError
    naming both counts when the run has more updates than ``total_steps``.

    Parameters
    ----------
    warmup_steps : int >= 0 and < total_steps.
    total_steps : int >= 1.
    eta_min : float, 0 <= eta_min <= base_lr.
    interval : 'step' (default) or 'epoch'.
    base_lr : see :class:`LRScheduler`.
    """

    params = ("warmup_steps", "total_steps", "eta_min")

    def __init__(self, warmup_steps, total_steps, eta_min=0.0, interval="step", base_lr=None):
        self.warmup_steps = check_int("WarmupCosine", "warmup_steps", warmup_steps, 0)
        self.total_steps = check_int("WarmupCosine", "total_steps", total_steps, 1)
        if self.warmup_steps >= self.total_steps:
            raise ValueError(f"WarmupCosine: warmup_steps must be < total_steps={self.total_steps}, "
                             f"got {self.warmup_steps}")
        self.eta_min = _check_real("WarmupCosine", "eta_min", eta_min)
        super().__init__(interval, base_lr)

    @property
    def horizon(self):
        return self.total_steps

    def _check_base(self, base_lr):
        if self.eta_min > base_lr:
            raise ValueError(f"WarmupCosine: eta_min must be <= base_lr={base_lr!r}, got {self.eta_min!r}")

    def _rate(self, s):
        w, total = self.warmup_steps, self.total_steps
        if s < w:
            return self.base_lr * (s + 1) / w
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * (s - w) / (total - w))) / 2


class LambdaLR(LRScheduler):
    """``lr(t) = fn(t)``: any callable ``t -> lr``, giving the **rate itself**.

    Unlike PyTorch's ``LambdaLR``, whose function returns a factor that multiplies the
    base rate, ``fn`` returns the absolute rate (``lambda epoch: 0.1 * 0.5 ** (epoch // 2)``), so there is
    no ``base_lr``. The Trainer wraps a plain ``schedule=`` callable in one.

    Parameters
    ----------
    fn : callable ``t -> float``, ``t`` the epochs (or steps) done, from 0.
    interval : 'epoch' (default) or 'step'.
    """

    params = ("fn",)

    def __init__(self, fn, interval="epoch"):
        if not callable(fn):
            raise ValueError(f"LambdaLR: fn must be a callable t -> lr, got {fn!r}")
        self.fn = fn
        super().__init__(interval, None)

    def lr_at(self, t):
        return float(self.fn(check_int("LambdaLR", "t", t, 0)))

    def on_fit_begin(self, trainer):
        """The rate comes from ``fn`` alone: nothing to read from the optimizer."""

    def __repr__(self):
        return f"LambdaLR(fn={self.fn!r}, interval={self.interval!r})"


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when ``logs[monitor]`` has not improved for more than
    ``patience`` epochs (PyTorch's ``ReduceLROnPlateau``), at ``on_epoch_end``.

    An epoch improves on the best value so far when (``mode='min'``)
    ``value < best * (1 - threshold)`` (``threshold_mode='rel'``) or
    ``value < best - threshold`` (``'abs'``); for ``mode='max'``, ``value > best * (1 + threshold)``
    or ``value > best + threshold``. The first epoch improves unless its value is NaN or
    infinite (PyTorch's best starts at inf, or -inf for 'max'); NaN never improves.
    Otherwise it is a bad epoch; when more than ``patience`` bad epochs come in a row, the
    rate becomes ``max(lr * factor, min_lr)`` (unchanged if that lowers it by ``eps`` or
    less), and the next ``cooldown`` epochs count as neither good nor bad.

    The rate starts at the optimizer's ``lr`` of the first ``on_fit_begin`` (``base_lr``);
    a new run (``trainer.steps_done == 0``) sets it back there and forgets the bookkeeping.
    ``state_dict`` holds everything: the current rate, the best value, the bad-epoch and
    cooldown counters, and a resumed run puts the rate back into the optimizer.

    Parameters
    ----------
    monitor : a key of the epoch's logs (default 'val_loss').
    mode : 'min', 'max', or None ('max' for accuracies, else 'min').
    factor : float in (0, 1).
    patience : int >= 0, bad epochs tolerated before a reduction.
    threshold : float >= 0.
    threshold_mode : 'rel' or 'abs'.
    cooldown : int >= 0.
    min_lr : float >= 0, the rate's floor.
    eps : float >= 0, the least reduction applied.

    Attributes
    ----------
    lr : the rate set last (None before the first run).
    best : the best monitored value (None before the first epoch).
    num_bad_epochs, cooldown_counter, last_epoch : PyTorch's counters.
    """

    params = ("monitor", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr",
              "eps")

    def __init__(self, monitor="val_loss", mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        name = "ReduceLROnPlateau"
        self.mode = monitor_mode(monitor, mode, owner=name)
        self.monitor = monitor
        self.factor = _check_real(name, "factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_int(name, "patience", patience, 0)
        self.threshold = _check_real(name, "threshold", threshold)
        self.threshold_mode = _check_choice(name, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = check_int(name, "cooldown", cooldown, 0)
        self.min_lr = _check_real(name, "min_lr", min_lr)
        self.eps = _check_real(name, "eps", eps)
        super().__init__("epoch", None)
        self.lr = None
        self.reset()

    def reset(self):
        """Forget every epoch seen (not the base rate)."""
        self.best, self.num_bad_epochs, self.cooldown_counter, self.last_epoch = None, 0, 0, 0

    def lr_at(self, t):
        raise ValueError("ReduceLROnPlateau: the rate depends on the monitored values, not on t alone; "
                         "read .lr")

    def is_better(self, value, best):
        """Whether ``value`` improves on ``best`` by the threshold; ``best`` None (nothing
        seen yet) stands for the worst value, inf for 'min' and -inf for 'max', as in PyTorch."""
        if best is None:
            best = math.inf if self.mode == "min" else -math.inf
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return value > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    def on_fit_begin(self, trainer):
        if self.base_lr is None:
            self.base_lr = check_positive("ReduceLROnPlateau", "base_lr (the optimizer's lr)", trainer.optimizer.lr)
        if trainer.steps_done == 0:  # a new run
            self.reset()
            self.lr = self.base_lr
        elif self.lr is None:  # resumed without this callback's state
            self.lr = float(trainer.optimizer.lr)
        trainer.optimizer.lr = self.lr

    def on_epoch_begin(self, trainer, epoch):
        """The rate changes at epoch ends only."""

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"ReduceLROnPlateau: monitor {self.monitor!r} is not among the logged values "
                             f"{sorted(logs)}")
        self.step(float(logs[self.monitor]), trainer.optimizer)

    def step(self, value, optimizer):
        """Take one epoch's monitored ``value``; reduce ``optimizer.lr`` if it is time."""
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            old = float(optimizer.lr)
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                optimizer.lr = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self.lr = float(optimizer.lr)

    def state_dict(self):
        return dict(super().state_dict(), monitor=self.monitor, lr=self.lr, best=self.best,
                    num_bad_epochs=self.num_bad_epochs, cooldown_counter=self.cooldown_counter,
                    last_epoch=self.last_epoch)

    def check_state_dict(self, state, trainer=None):
        """As :meth:`LRScheduler.check_state_dict`, and: the same monitor, ``lr`` None or a
        finite number > 0, ``best`` None or a finite number, the counters ints >= 0."""
        name = "ReduceLROnPlateau"
        check_mapping(name, "", state, ("monitor", "lr", "best", "num_bad_epochs", "cooldown_counter", "last_epoch"))
        if state["monitor"] != self.monitor:
            raise StateError(name, "monitor", f"must be this one's {self.monitor!r}: got {state['monitor']!r}",
                             f"{name}: the state watched {state['monitor']!r}, this one watches {self.monitor!r}")
        super().check_state_dict(state, trainer)
        check_real(name, "lr", state["lr"], low=0.0, low_open=True, allow_none=True)
        check_real(name, "best", state["best"], allow_none=True)
        for counter in ("num_bad_epochs", "cooldown_counter", "last_epoch"):
            check_count(name, counter, state[counter])

    def load_state_dict(self, state):
        self.check_state_dict(state)
        super().load_state_dict(state)
        self.lr = None if state["lr"] is None else float(state["lr"])
        self.best = None if state["best"] is None else float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.last_epoch = int(state["last_epoch"])

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.params)
        return f"ReduceLROnPlateau({args})"


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


def make_schedule(kind, lr0, step_size=10, gamma=0.5):
    """The schedule a command line names, from the rate ``lr0``: None or ``'none'`` (a constant
    rate: None), ``'step'`` (:class:`StepLR`) or ``'exponential'`` (:class:`ExponentialLR`)."""
    if kind is None or kind == "none":
        return None
    if kind == "step":
        return StepLR(step_size, gamma, base_lr=lr0)
    if kind == "exponential":
        return ExponentialLR(gamma, base_lr=lr0)
    raise ValueError(f"unknown lr schedule {kind!r}; choose 'none', 'step' or 'exponential'")
