"""LRScheduler: the base of the learning-rate schedules, and LambdaLR, any callable as one.

A schedule is a :class:`~bprop.optim.callbacks.Callback` with a pure method ``lr_at(t)``:
the rate after ``t`` epochs (``interval='epoch'``) or ``t`` updates (``interval='step'``)
done, ``t`` counted from 0. The hooks apply it::

    on_epoch_begin(trainer, epoch)   optimizer.lr = lr_at(epoch - 1)    # interval 'epoch'
    on_batch_begin(trainer, step)    optimizer.lr = lr_at(step)         # interval 'step'

``base_lr`` is PyTorch's ``initial_lr``: given, or read from ``optimizer.lr`` at the first
``on_fit_begin``, and kept in the state, so a resumed run continues from the same base.
"""

import inspect
import math
import numbers

from bprop.layers.checks import check_int, check_positive

from .callbacks import Callback
from .state_checks import StateError, check_mapping, check_real

INTERVALS = ("epoch", "step")


def check_range(owner, name, value, low=0.0, high=math.inf, low_open=False, high_open=False):
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


def check_choice(owner, name, value, choices):
    """``value`` if it is one of the strings ``choices``, or a ValueError naming ``owner``,
    ``name`` and the value."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


class LRScheduler(Callback):
    """Base class of the learning-rate schedules: sets ``trainer.optimizer.lr`` to
    ``lr_at(epoch - 1)`` at ``on_epoch_begin`` (``interval='epoch'``) or to ``lr_at(step)``
    at ``on_batch_begin`` (``interval='step'``).

    A subclass writes its formula once, in ``_rate(t)`` (``self.base_lr`` is known there),
    keeps each constructor argument under its own name (``repr`` shows them), and may override
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

    horizon = None

    def __init__(self, interval="epoch", base_lr=None):
        name = type(self).__name__
        self.interval = check_choice(name, "interval", interval, INTERVALS)
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
        """Raise a :class:`~bprop.optim.state_checks.StateError` if :meth:`load_state_dict`
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

    def _arguments(self):
        """``['T_max=100', ...]``: the subclass's own constructor arguments, in order, as kept."""
        names = inspect.signature(type(self).__init__).parameters
        return [f"{p}={getattr(self, p)!r}" for p in names if p not in ("self", "interval", "base_lr")]

    def __repr__(self):
        args = self._arguments() + [f"interval={self.interval!r}", f"base_lr={self.base_lr!r}"]
        return f"{type(self).__name__}({', '.join(args)})"


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

