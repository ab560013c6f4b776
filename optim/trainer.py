"""The training loop, one for every model: the textbook's four steps, with callbacks around them.

Each epoch takes the mini-batches of the training data in turn and, for each, computes the
loss (forward), the gradients (backward) and an update; then it evaluates the chosen
metrics. Everything else is a :class:`~bprop.optim.callbacks.Callback` the loop calls at
fixed points: learning-rate schedules, early stopping, best weights, gradient clipping, the
divergence stop, the progress display, the checkpoint, a stateful model's reset, loggers.
The data is a *batch source*: arrays ``(x, t)``, a :class:`~bprop.datasets.MiniBatchIterator`,
:class:`~bprop.datasets.BPTTBatches`, or any iterable of ``(x, t)`` batches with ``len()``
(and ``state_dict()`` / ``load_state_dict()`` when it draws random numbers).
"""

import os
import time

import numpy as np

from bprop.datasets.batching import MiniBatchIterator
from bprop.layers.checks import check_int
from bprop.layers.rng import make_rng

from .batch_sources import EVAL_BATCH_SIZE, batch_source, train_eval_subset
from .callbacks import CallbackList, DivergenceStop, ResetState
from .checkpoint import check_checkpoint_path, load_checkpoint, save_checkpoint
from .divergence import TrainingDivergedError
from .metrics import Loss, get_metric
from .progress import ProgressBar
from .schedules import as_schedule
from .history import Checkpoint, History, RecordHistory
from .train_state import apply_state, check_state, trainer_state

__all__ = ["Trainer", "History", "TrainingDivergedError", "Checkpoint"]

def _as_dtype(x, dtype):
    """A floating batch in the model's dtype (float32 data can train a float64 model and back)."""
    return x.astype(dtype) if dtype is not None and x.dtype.kind == "f" and x.dtype != dtype else x


class Trainer:
    """Train ``model`` with ``optimizer`` on ``train_data``, epoch by epoch.

    Parameters
    ----------
    model : anything with ``params``, ``loss(x, t, train)`` and ``loss_and_gradient(x, t)``
        (every network of :mod:`bprop.networks`); ``default_metrics``, ``scores()``,
        ``n_predictions(x, t)``, ``min_batch_size``, ``reset_state()`` and ``dtype`` are
        used where the model has them.
    optimizer : anything with ``update(params, grads)`` (and ``lr`` for schedules).
    train_data : arrays ``(x, t)``, shuffled into batches of ``batch_size`` with ``rng``
        every epoch, or a batch source (see the module docstring).
    val_data : None, arrays ``(x, t)`` or a batch source, evaluated after every epoch.
    epochs : int >= 1, passes over the training data.
    batch_size : int >= 1, for arrays.
    iterations : None or int >= 1: exactly this many updates instead of ``epochs`` passes
        (the last pass stops where the count is reached).
    rng : None, int or np.random.Generator, for the shuffles of arrays.
    metrics : None (the model's ``default_metrics``, else loss and accuracy) or a list of
        names in :data:`bprop.optim.metrics.METRICS` and :class:`Metric` objects.
    eval_train : for arrays, True (default) evaluates the metrics on the whole training set
        after each epoch, an int on a fixed random subset of that many samples, False only
        the loss-based metrics, from the epoch's own mini-batch losses (the default for a
        batch source).
    schedule : None, an :class:`~bprop.optim.schedules.LRScheduler`, or any callable
        ``epoch -> lr`` (epoch from 0), which sets ``optimizer.lr`` before each epoch.
    callbacks : list of :class:`Callback`, called in order. A :class:`DivergenceStop` is
        added first unless one is given, a :class:`ResetState` for a model with
        ``reset_state``, and the progress display and the checkpoint last.
    checkpoint : None or a path: the whole training state is written there after every
        epoch, atomically; ``resume=True`` continues from it, bit for bit as the run that
        was never stopped (model, optimizer, data order, history, every callback's state).
        A folder, or a path that cannot be written (under a file), is refused here.
    verbose : 0 silent, 1 a progress bar on a terminal and a line per epoch, 2 a line per epoch.

    Examples
    --------
    >>> Trainer(net, SGD(lr=0.1), (x_train, t_train), (x_test, t_test), epochs=10, rng=0).fit()
    >>> Trainer(lm, Adam(lr=2e-3), BPTTBatches(train_ids, 32, 50), BPTTBatches(val_ids, 64, 100),
    ...         epochs=6, schedule=WarmupCosine(200, 6 * 1000), callbacks=[GradientClipping(5.0)]).fit()
    """

    def __init__(self, model, optimizer, train_data, val_data=None, *, epochs=10, batch_size=100,
                 iterations=None, rng=None, metrics=None, eval_train=None, schedule=None, callbacks=(),
                 checkpoint=None, resume=False, verbose=1):
        for attr in ("params", "loss", "loss_and_gradient"):
            if not hasattr(model, attr):
                raise ValueError(f"Trainer: model must have `{attr}`, got {type(model).__name__}")
        if not callable(getattr(optimizer, "update", None)):
            raise ValueError(f"Trainer: optimizer must have update(params, grads), got {optimizer!r}")
        self.model, self.optimizer = model, optimizer
        self.epochs = check_int("Trainer", "epochs", epochs, 1)
        self.batch_size = check_int("Trainer", "batch_size", batch_size, 1)
        self.iterations = check_int("Trainer", "iterations", iterations, 1, allow_none=True)
        self.rng = make_rng(rng)
        self.train_batches = batch_source("train_data", train_data, model, self.batch_size, True, self.rng)
        self.val_batches = None if val_data is None else batch_source("val_data", val_data, model, 0, False, None)
        self.steps_per_epoch = len(self.train_batches)
        if self.steps_per_epoch == 0:
            raise ValueError(f"Trainer: train_data gives no batch: {self.train_batches!r}")
        self.metrics = [get_metric(m) for m in (metrics or getattr(model, "default_metrics", ("loss", "accuracy")))]
        self.eval_train, self.train_eval_index = train_eval_subset(self.train_batches, eval_train, self.rng)
        self.checkpoint = None if checkpoint is None else check_checkpoint_path(checkpoint)
        self.callbacks = self._callbacks(schedule, callbacks, verbose, self.checkpoint)
        self.history, self.epochs_done, self.steps_done, self._elapsed = History(), 0, 0, 0.0
        self.stop_training, self._resumed, self.resumed_from = False, False, None
        if resume not in (True, False):
            raise ValueError(f"Trainer: resume must be True or False, got {resume!r}")
        if resume:
            if self.checkpoint is None:
                raise ValueError("Trainer: resume=True needs checkpoint=PATH, the file to continue from")
            self.load_checkpoint(self.checkpoint)

    # --- the loop --------------------------------------------------------------------
    def fit(self):
        """Train; return the :class:`History` (also ``self.history``). A call starts a new run
        from the model's current weights, unless it follows a resume, which it continues."""
        if not self._resumed:
            self.history, self.epochs_done, self.steps_done, self._elapsed = History(), 0, 0, 0.0
        self._resumed, self.stop_training = False, False
        self.history["iterations_per_epoch"] = self.steps_per_epoch
        callbacks, model, dtype = self.callbacks, self.model, getattr(self.model, "dtype", None)
        clock = time.perf_counter() - self._elapsed
        try:
            callbacks.on_fit_begin(self)
            with np.errstate(over="ignore", invalid="ignore"):  # a bad loss is reported by DivergenceStop
                while self.history["stopped_epoch"] is None and self.epochs_done < self.n_epochs:
                    epoch = self.epochs_done + 1
                    callbacks.on_epoch_begin(self, epoch)
                    train_loss = self._fresh_metrics(train=True)
                    for x, t in self._epoch_batches():
                        callbacks.on_batch_begin(self, self.steps_done)
                        loss, grads = model.loss_and_gradient(_as_dtype(x, dtype), t)
                        self.steps_done += 1
                        self.history["iter_loss"].append(float(loss))
                        callbacks.on_after_backward(self, loss, grads)
                        self.optimizer.update(model.params, grads)
                        for metric in train_loss:
                            metric.update(model, x, t, loss)
                        callbacks.on_batch_end(self, self.steps_done, loss)
                    logs = self._evaluate(epoch, train_loss, time.perf_counter() - clock)
                    self.epochs_done, self._elapsed = epoch, logs["time"]
                    callbacks.on_epoch_end(self, epoch, logs)  # RecordHistory adds it to the history
        finally:
            callbacks.on_fit_end(self)
        return self.history

    @property
    def total_steps(self):
        """Updates the run makes in all."""
        return self.iterations if self.iterations is not None else self.epochs * self.steps_per_epoch

    @property
    def n_epochs(self):
        """Passes the run makes in all (the last one maybe partial)."""
        return -(-self.total_steps // self.steps_per_epoch)

    def _epoch_batches(self):
        batches = iter(self.train_batches)  # a new order each pass
        for _ in range(min(self.steps_per_epoch, self.total_steps - self.steps_done)):
            yield next(batches)

    # --- evaluation ------------------------------------------------------------------
    def _fresh_metrics(self, train=False):
        if not train:
            metrics = self.metrics
        elif self.eval_train is False:  # what the training pass measures: the losses it computes anyway
            metrics = [type(m)() for m in self.metrics if isinstance(m, Loss)]
        else:
            metrics = []
        for m in metrics:
            m.reset()
        return metrics

    def evaluate(self, batches):
        """The metrics over ``batches`` (a batch source) in inference mode: ``{key: value}``.
        A stateful model is evaluated from a zero state and its state is put back after."""
        model, dtype = self.model, getattr(self.model, "dtype", None)
        saved = model.state() if hasattr(model, "reset_state") else None
        if saved is not None:
            model.reset_state()
        metrics = self._fresh_metrics()
        try:
            for x, t in batches:
                x = _as_dtype(x, dtype)
                loss = model.loss(x, t, train=False)
                for metric in metrics:
                    metric.update(model, x, t, loss)
        finally:
            if saved is not None:
                model.set_state(saved)
        return {m.key: m.result() for m in metrics}

    def _evaluate(self, epoch, train_metrics, elapsed):
        logs = {"epoch": epoch, "iteration": self.steps_done}
        if self.eval_train is False:
            results = {m.key: m.result() for m in train_metrics}
        else:
            x, t = self.train_batches.x, self.train_batches.t
            if self.train_eval_index is not None:
                x, t = x[self.train_eval_index], t[self.train_eval_index]
            results = self.evaluate(MiniBatchIterator(x, t, EVAL_BATCH_SIZE, shuffle=False))
        logs.update({f"train_{k}": v for k, v in results.items()})
        if self.val_batches is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(self.val_batches).items()})
        lr = getattr(self.optimizer, "lr", None)  # the last update's
        logs["lr"] = None if lr is None else float(lr)
        logs["time"] = elapsed
        return logs

    # --- the parts, chosen once ------------------------------------------------------
    def _callbacks(self, schedule, callbacks, verbose, checkpoint):
        callbacks = list(CallbackList(callbacks))  # each checked, named by its index in the caller's list
        first = [] if any(isinstance(cb, DivergenceStop) for cb in callbacks) else [DivergenceStop()]
        if hasattr(self.model, "reset_state"):
            first.append(ResetState())
        if schedule is not None:
            first.append(as_schedule(schedule, self.optimizer))
        last = [RecordHistory(), ProgressBar(verbose)]
        if checkpoint is not None:
            last.append(Checkpoint(checkpoint))
        return CallbackList(first + callbacks + last)

    # --- checkpoints -----------------------------------------------------------------
    def state_dict(self):
        """The whole training state: JSON values and array copies (see :mod:`optim.train_state`)."""
        return trainer_state(self)

    def save_checkpoint(self, path):
        """Write :meth:`state_dict` to ``path`` atomically (a kill while writing leaves the old file)."""
        save_checkpoint(path, self.state_dict())

    def load_checkpoint(self, path):
        """Restore the run of the checkpoint at ``path``; the next :meth:`fit` continues it."""
        self.load_state_dict(load_checkpoint(path), source=os.fspath(path))

    def load_state_dict(self, state, source="the state"):
        """Restore a :meth:`state_dict`. Everything is checked first (:func:`check_state`): a
        CheckpointError (a ValueError) names ``source`` and the field at fault, and nothing has changed."""
        check_state(self, state, source)
        apply_state(self, state, source)
        self._elapsed, self._resumed, self.resumed_from = float(state["progress"]["elapsed"]), True, source

    @property
    def checkpoint_epoch(self):
        """The epoch the checkpoint file holds (None before one is written or read)."""
        return next((cb.epoch for cb in self.callbacks if isinstance(cb, Checkpoint)), None)

    def __repr__(self):
        mode = f"iterations={self.iterations}" if self.iterations is not None else f"epochs={self.epochs}"
        return f"Trainer({type(self.model).__name__}, {self.optimizer!r}, {self.train_batches!r}, {mode})"
