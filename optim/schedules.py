"""Learning-rate schedules: the learning rate of each epoch, as a function of the epoch.

A schedule is any callable ``epoch -> lr``, the epoch counted from 0; the Trainer sets
``optimizer.lr = schedule(epoch)`` at the start of every epoch. Because the rate depends
on the epoch alone, the epoch counter is all a resumed run needs to be at the same place
in its schedule.
"""

from bprop.layers.checks import check_int, check_positive


class StepDecay:
    """``lr = lr0 * gamma ** (epoch // step_size)``: the rate is multiplied by ``gamma``
    every ``step_size`` epochs.

    Parameters
    ----------
    lr0 : float > 0, the rate of epochs 0 to ``step_size - 1``.
    step_size : int >= 1, epochs between two decays.
    gamma : float > 0, the factor of each decay.
    """

    def __init__(self, lr0, step_size=10, gamma=0.5):
        self.lr0 = check_positive("StepDecay", "lr0", lr0)
        self.step_size = check_int("StepDecay", "step_size", step_size, 1)
        self.gamma = check_positive("StepDecay", "gamma", gamma)

    def __call__(self, epoch):
        return self.lr0 * self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepDecay(lr0={self.lr0!r}, step_size={self.step_size}, gamma={self.gamma!r})"


class ExponentialDecay:
    """``lr = lr0 * gamma ** epoch``: the rate is multiplied by ``gamma`` every epoch.

    Parameters
    ----------
    lr0 : float > 0, the rate of epoch 0.
    gamma : float > 0, the factor per epoch.
    """

    def __init__(self, lr0, gamma=0.9):
        self.lr0 = check_positive("ExponentialDecay", "lr0", lr0)
        self.gamma = check_positive("ExponentialDecay", "gamma", gamma)

    def __call__(self, epoch):
        return self.lr0 * self.gamma ** epoch

    def __repr__(self):
        return f"ExponentialDecay(lr0={self.lr0!r}, gamma={self.gamma!r})"


def make_schedule(kind, lr0, step_size=10, gamma=0.5):
    """The schedule a command line names: None or ``'none'`` (a constant rate: None),
    ``'step'`` (:class:`StepDecay`) or ``'exponential'`` (:class:`ExponentialDecay`)."""
    if kind is None or kind == "none":
        return None
    if kind == "step":
        return StepDecay(lr0, step_size, gamma)
    if kind == "exponential":
        return ExponentialDecay(lr0, gamma)
    raise ValueError(f"unknown lr schedule {kind!r}; choose 'none', 'step' or 'exponential'")
