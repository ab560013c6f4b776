"""Callbacks: everything that hangs off the training loop, through one protocol.

The :class:`~bprop.optim.Trainer` calls each hook of every callback, in the order the
callbacks are listed, at fixed points of its loop::

    on_fit_begin(trainer)
    for each epoch:
        on_epoch_begin(trainer, epoch)                 # epoch counted from 1
        for each mini-batch:
            on_batch_begin(trainer, step)              # step: updates done before this one
            loss, grads = model.loss_and_gradient(x, t)
            on_after_backward(trainer, loss, grads)    # before the update: check, clip
            optimizer.update(params, grads)
            on_batch_end(trainer, step + 1, loss)      # updates done, this one included
        logs = the epoch's metrics
        on_epoch_end(trainer, epoch, logs)             # set trainer.stop_training to stop
    on_fit_end(trainer)                                # also after an exception

A callback that keeps something across epochs returns it from :meth:`Callback.state_dict`
(JSON values and NumPy arrays) and takes it back in :meth:`Callback.load_state_dict`: the
Trainer's checkpoint holds the state of every callback, so a resumed run carries on exactly
as the uninterrupted one would have. :meth:`Callback.check_state_dict` refuses a state
that cannot be taken back; a resume asks every callback before it changes anything.

A callback of your own is a subclass that overrides the hooks it needs::

    class StopAtAccuracy(Callback):
        def __init__(self, target):
            self.target = target
        def on_epoch_end(self, trainer, epoch, logs):
            if logs["val_acc"] >= self.target:
                trainer.stop_training = True
"""

import math

from bprop.layers.checks import check_positive

from .clip import clip_grads
from .divergence import DIVERGENCE_FACTOR, DivergenceCheck, TrainingDivergedError

__all__ = ["Callback", "CallbackList", "GradientClipping", "DivergenceStop", "ResetState"]

HOOKS = ("on_fit_begin", "on_epoch_begin", "on_batch_begin", "on_after_backward", "on_batch_end",
         "on_epoch_end", "on_fit_end")


class Callback:
    """Base class of the Trainer's callbacks: every hook does nothing, and there is no state.

    Override the hooks you need (see the module docstring for when each is called), and
    ``state_dict`` / ``load_state_dict`` if the callback keeps anything a resumed run needs.
    """

    def on_fit_begin(self, trainer):
        """Training starts (or resumes from a checkpoint)."""

    def on_epoch_begin(self, trainer, epoch):
        """Epoch ``epoch`` (from 1) starts."""

    def on_batch_begin(self, trainer, step):
        """An update starts; ``step`` updates were done before it."""

    def on_after_backward(self, trainer, loss, grads):
        """The mini-batch ``loss`` and the gradients ``grads`` are known, not yet applied;
        a callback may change ``grads`` in place or raise to stop before the update."""

    def on_batch_end(self, trainer, step, loss):
        """The update is done; ``step`` counts it."""

    def on_epoch_end(self, trainer, epoch, logs):
        """Epoch ``epoch`` is done and evaluated; ``logs`` is its record (``'epoch'``,
        ``'train_loss'``, ``'val_acc'``, ...). Set ``trainer.stop_training = True`` to end
        training after this epoch."""

    def on_fit_end(self, trainer):
        """Training ends, normally or by an exception."""

    def state_dict(self):
        """What a resumed run needs of this callback: JSON values and NumPy arrays."""
        return {}

    def load_state_dict(self, state):
        """Take back what :meth:`state_dict` returned."""

    def check_state_dict(self, state, trainer=None):
        """Raise a ValueError if :meth:`load_state_dict` would refuse ``state`` (from
        ``trainer``'s checkpoint, when given), and change nothing. A resume calls it for
        every callback before any part of the Trainer changes, so a callback whose
        ``load_state_dict`` can fail checks the same things here; a
        :class:`~bprop.optim.state_checks.StateError` can say which field is at fault."""

    def __repr__(self):
        return f"{type(self).__name__}()"


class CallbackList:
    """Callbacks called in order; ``callbacks.on_epoch_end(trainer, epoch, logs)`` calls
    every callback's ``on_epoch_end``. Each is checked to be a :class:`Callback`."""

    def __init__(self, callbacks=()):
        callbacks = list(callbacks)
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                hint = (" (a plain function of the epoch is a learning-rate schedule: pass it as "
                        "schedule=..., or subclass Callback)" if callable(cb) else "")
                raise ValueError(f"Trainer: callbacks[{i}] must be a Callback, got {cb!r}{hint}")
        self.callbacks = callbacks

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def __getattr__(self, hook):
        if hook not in HOOKS:
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call


class GradientClipping(Callback):
    """Clip the gradients by their global L2 norm before every update
    (:func:`bprop.optim.clip_grads`): when the norm of all gradients together exceeds
    ``max_norm``, every gradient is scaled by ``max_norm / (norm + 1e-6)``.

    Attributes
    ----------
    norm_sum, clipped, batches : this epoch's sum of norms (before clipping), the number of
        clipped updates, and of updates; the epoch's mean norm and clipped fraction go into
        its logs as ``'grad_norm'`` and ``'clipped'``.
    """

    def __init__(self, max_norm):
        self.max_norm = check_positive("GradientClipping", "max_norm", max_norm)
        self.norm_sum, self.clipped, self.batches = 0.0, 0, 0

    def on_epoch_begin(self, trainer, epoch):
        self.norm_sum, self.clipped, self.batches = 0.0, 0, 0

    def on_after_backward(self, trainer, loss, grads):
        norm = clip_grads(grads, self.max_norm)
        self.norm_sum += norm
        self.clipped += norm > self.max_norm
        self.batches += 1

    def on_epoch_end(self, trainer, epoch, logs):
        if self.batches:
            logs["grad_norm"] = self.norm_sum / self.batches
            logs["clipped"] = self.clipped / self.batches

    def __repr__(self):
        return f"GradientClipping(max_norm={self.max_norm!r})"


class DivergenceStop(Callback):
    """Stop with :class:`TrainingDivergedError` when a mini-batch loss is NaN or infinite, or
    more than ``factor`` times the first mini-batch loss of the run, before that update is
    applied (the rule and the default factor 100 are explained in :mod:`optim.divergence`).
    The Trainer adds one with the default factor unless its callbacks hold one; pass
    ``DivergenceStop(None)`` to stop on NaN and inf only."""

    def __init__(self, factor=DIVERGENCE_FACTOR):
        self.check = DivergenceCheck(factor)

    def on_fit_begin(self, trainer):
        if trainer.steps_done == 0:
            self.check.reset()

    def on_after_backward(self, trainer, loss, grads):
        loss = float(loss)
        if self.check.diverged(loss):
            trainer.history["diverged"] = True
            reference = self.check.reference if math.isfinite(loss) else None
            lr = getattr(trainer.optimizer, "lr", None)
            steps_per_epoch = trainer.steps_per_epoch
            step = trainer.steps_done
            raise TrainingDivergedError(trainer.epochs_done + 1, step - steps_per_epoch * trainer.epochs_done,
                                        step, loss, None if lr is None else float(lr), trainer.history,
                                        reference=reference, factor=self.check.factor)

    def state_dict(self):
        return self.check.state_dict()

    def check_state_dict(self, state, trainer=None):
        self.check.check_state_dict(state)

    def load_state_dict(self, state):
        self.check.load_state_dict(state)

    def __repr__(self):
        return f"DivergenceStop(factor={self.check.factor!r})"


class ResetState(Callback):
    """Set a stateful model's carried state to zero at the start of every epoch
    (``model.reset_state()``): a language model reads its streams from the start again.
    The Trainer adds it for a model that has ``reset_state``."""

    def on_epoch_begin(self, trainer, epoch):
        trainer.model.reset_state()
