"""Telling a diverging run from one that learns: the rule, and the error that stops training.

The rule (:class:`DivergenceCheck`): training has diverged when a mini-batch loss is NaN
or infinite, or when it exceeds ``divergence_factor`` times the *reference loss*, the
first mini-batch loss of the run (the loss of the starting weights, before any update).
The default factor, 100, comes from a measurement: 784-100-100-10 networks (with and
without batch norm) trained on 5000 MNIST images for 3 epochs with SGD, Momentum and Adam
over learning rates from 1e-3 to 1e6 never had a mini-batch loss above 10 times the first
one when they learned anything (the worst: Adam lr 0.1, 9.2 times, 77% accuracy), while
every run whose loss went above 100 times the first ended at chance (771 times to 5e21
times). A 10-class softmax network that starts at chance (loss ln 10 = 2.3) is thus
stopped above a loss of 230; ``Adam(lr=1e6)``, which reaches 1e12, within a few steps.
``divergence_factor=None`` keeps only the NaN/inf test.
"""

import math
import numbers

from .state_checks import check_mapping, check_real

#: the default ``divergence_factor``
DIVERGENCE_FACTOR = 100.0


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite, or exploded past the divergence rule.

    Attributes
    ----------
    epoch : int, 1-based epoch in which it happened.
    iteration : int, 1-based iteration within that epoch.
    step : int, 1-based iteration counted from the start of training.
    loss : float, the offending mini-batch loss.
    lr : float or None, the learning rate at that moment.
    history : History, everything recorded up to and including the bad step
        (its ``iter_loss`` ends with the offending loss).
    reference : float or None, the reference loss when the loss was finite but too
        large (None when it was NaN or infinite).
    factor : float or None, the ``divergence_factor`` of that rule.
    """

    def __init__(self, epoch, iteration, step, loss, lr, history, reference=None, factor=None):
        self.epoch = epoch
        self.iteration = iteration
        self.step = step
        self.loss = loss
        self.lr = lr
        self.history = history
        self.reference = reference
        self.factor = factor
        why = "" if reference is None else (
            f", more than divergence_factor={factor:g} times the first mini-batch loss {reference:.6g}")
        hint = (
            f" with lr={lr:g}; the learning rate is probably too large, try a smaller one "
            f"(e.g. lr={lr / 10:g})" if lr is not None
            else "; the learning rate is probably too large, try a smaller one"
        )
        super().__init__(
            f"training diverged: the loss is {loss:.6g} at epoch {epoch}, iteration {iteration} "
            f"({step} iterations in all){why}{hint}. The history so far is in this error's "
            "`history` attribute and in `trainer.history`."
        )


class DivergenceCheck:
    """The divergence rule of the module docstring, step by step.

    Parameters
    ----------
    factor : float > 1 or None. None: only NaN and inf count as divergence.

    Attributes
    ----------
    reference : the first positive mini-batch loss of the run, or None before it. A loss
        that is 0 or negative (a custom loss can be) sets no reference: the check waits
        for a positive one.
    """

    def __init__(self, factor=DIVERGENCE_FACTOR):
        if factor is not None and (isinstance(factor, bool) or not isinstance(factor, numbers.Real)
                                   or not (factor > 1 and math.isfinite(factor))):
            raise ValueError(f"Trainer: divergence_factor must be a finite number > 1 or None, got {factor!r}")
        self.factor = None if factor is None else float(factor)
        self.reference = None

    def reset(self):
        """Forget the reference: a new run starts."""
        self.reference = None

    def diverged(self, loss):
        """Take the next mini-batch loss; True if training has diverged (the first positive
        loss of a run becomes the reference)."""
        if not math.isfinite(loss):
            return True
        if self.factor is None:
            return False
        if self.reference is None:
            if loss > 0:
                self.reference = float(loss)
            return False
        return loss > self.factor * self.reference

    def state_dict(self):
        return {"factor": self.factor, "reference": self.reference}

    def check_state_dict(self, state):
        """Raise a :class:`~bprop.optim.state_checks.StateError` if :meth:`load_state_dict`
        would refuse ``state``: the reference must be None or a finite loss > 0 (a reference
        of 0 or less would call the run's first step a divergence)."""
        check_mapping("DivergenceStop", "", state, ("factor", "reference"))
        check_real("DivergenceStop", "reference", state["reference"], low=0.0, low_open=True, allow_none=True)

    def load_state_dict(self, state):
        """Take back the reference of :meth:`state_dict` (the factor stays this check's own)."""
        self.check_state_dict(state)
        reference = state["reference"]
        self.reference = None if reference is None else float(reference)

    def __repr__(self):
        return f"DivergenceCheck(factor={self.factor!r})"
