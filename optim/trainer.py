"""The training loop: shuffled mini-batches, one update per batch, an evaluation per epoch.

:class:`Trainer` drives any network with ``loss_and_gradient(x, t) -> (loss, grads)``
and ``params`` (every :class:`networks.Sequential`) with any optimizer that has
``update(params, grads)``. Each epoch is the textbook's four steps, repeated per batch:
take a mini-batch, compute the loss (forward), the gradients (backward), update. Around
that loop, small parts, each in its own module and testable alone, do the rest:

- :mod:`optim.schedules`: the learning rate of each epoch (``StepDecay``, ``ExponentialDecay``);
- :mod:`optim.early_stopping`: the best epoch, ``EarlyStopping``, ``BestWeights``;
- :mod:`optim.divergence`: the divergence rule and ``TrainingDivergedError``;
- :mod:`optim.progress`: the progress bar and the per-epoch lines;
- :mod:`optim.checkpoint`: the file that lets a killed run continue exactly.
"""

import math
import os
import time
from collections.abc import Mapping

import numpy as np

from bprop.datasets.batching import MiniBatchIterator
from bprop.layers import BatchNormalization
from bprop.layers.checks import check_finite, check_int, check_positive
from bprop.layers.rng import make_rng

from .checkpoint import VERSION as CHECKPOINT_VERSION
from .checkpoint import load_checkpoint, save_checkpoint
from .clip import clip_grads
from .divergence import DIVERGENCE_FACTOR, DivergenceCheck, TrainingDivergedError
from .early_stopping import MONITORS, BestWeights, EarlyStopping
from .progress import Progress

__all__ = ["History", "Trainer", "TrainingDivergedError", "evaluate", "MONITORS", "CHECKPOINT_VERSION"]

#: what the keyword arguments of earlier versions became
_RENAMED = {
    "patience": "early_stopping=EarlyStopping(patience, monitor, min_delta, restore_best)",
    "monitor": "early_stopping=EarlyStopping(patience, monitor=...) or best_weights=BestWeights(path, monitor=...)",
    "min_delta": "early_stopping=EarlyStopping(patience, min_delta=...)",
    "restore_best": "early_stopping=EarlyStopping(patience, restore_best=...)",
    "lr_step_size": "lr_schedule=StepDecay(lr0, step_size, gamma)",
    "lr_gamma": "lr_schedule=StepDecay(lr0, step_size, gamma) or ExponentialDecay(lr0, gamma)",
}


#: the entries of :meth:`Trainer.state_dict`
STATE_KEYS = ("setup", "progress", "history", "network", "layer_state", "optimizer", "shuffle_rng",
              "train_eval_index", "divergence", "early_stopping", "best_weights")


class History(dict):
    """What :meth:`Trainer.fit` records, as a plain dict (JSON-friendly: lists and scalars).

    Per epoch (lists of equal length, one entry per evaluation):

    - ``'epoch'``: 1-based epoch number.
    - ``'iteration'``: iterations done when the epoch ended.
    - ``'train_loss'``, ``'train_acc'``: loss (weight decay included, as ``net.loss``
      computes it) and accuracy on the training set, or on a fixed random subset of it
      (``train_eval_size``), in inference mode (no dropout, running batch-norm statistics).
    - ``'val_loss'``, ``'val_acc'``: the same on the validation set; empty lists when
      there is none.
    - ``'lr'``: the learning rate used during the epoch (None if the optimizer has none).
    - ``'time'``: seconds of training since the run started, at the end of the epoch (a
      resumed run goes on counting from the checkpoint's time: wall times are the one
      thing a resumed run does not repeat exactly).

    Per iteration: ``'iter_loss'``, the training-mode mini-batch loss each update was
    computed from (the loss ``loss_and_gradient`` returned; no extra forward pass).

    Scalars: ``'iterations_per_epoch'``; ``'best_epoch'`` and ``'best_score'`` (by the
    monitor of ``early_stopping``, else of ``best_weights``; None when neither is given);
    ``'stopped_epoch'`` (the epoch at which early stopping or a callback ended training,
    else None); ``'diverged'`` (bool).
    """

    EPOCH_KEYS = ("epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time")

    def __init__(self):
        super().__init__({k: [] for k in self.EPOCH_KEYS})
        self["iter_loss"] = []
        self.update(iterations_per_epoch=None, best_epoch=None, best_score=None,
                    stopped_epoch=None, diverged=False)

    @property
    def n_epochs(self):
        """Number of epochs recorded."""
        return len(self["epoch"])


def _check_pair(x_name, x, t_name, t):
    x = np.asarray(x)
    t = np.asarray(t)
    if x.ndim == 0 or t.ndim == 0:
        raise ValueError(f"Trainer: {x_name} and {t_name} must be arrays with a sample axis, "
                         f"got shapes {x.shape} and {t.shape}")
    if len(x) != len(t):
        raise ValueError(f"Trainer: {x_name} and {t_name} must have the same length, "
                         f"got len({x_name})={len(x)} and len({t_name})={len(t)}")
    if len(x) == 0:
        raise ValueError(f"Trainer: {x_name} is empty")
    check_finite("Trainer", x_name, x)
    check_finite("Trainer", t_name, t)
    return x, t


def _has_batchnorm(network):
    layers = getattr(network, "layers", None)
    if layers is None:
        return False
    layers = layers.values() if isinstance(layers, Mapping) else layers
    return any(isinstance(layer, BatchNormalization) for layer in layers)


def evaluate(network, x, t, batch_size=1000):
    """Loss and accuracy of ``network`` on ``(x, t)`` in inference mode, in batches.

    One forward pass per batch: the loss comes from ``network.loss`` (weight decay
    included) and the accuracy from the scores its loss layer keeps (``last_layer.y``).

    Parameters
    ----------
    network : a :class:`networks.Sequential`.
    x : (N, ...) inputs; t : (N,) labels or (N, C) one-hot rows.
    batch_size : samples per forward pass.

    Returns
    -------
    loss : float, the mean loss over all N samples.
    acc : float, the fraction whose largest score is the true class.
    """
    n = len(x)
    dtype = getattr(network, "dtype", None)
    total_loss = 0.0
    correct = 0
    for i in range(0, n, batch_size):
        xb, tb = x[i:i + batch_size], t[i:i + batch_size]
        if dtype is not None and xb.dtype != dtype:
            xb = xb.astype(dtype)
        total_loss += float(network.loss(xb, tb, train=False)) * len(xb)
        predicted = np.argmax(network.last_layer.y, axis=1)
        labels = tb if tb.ndim == 1 else np.argmax(tb, axis=1)
        correct += int(np.count_nonzero(predicted == labels))
    return total_loss / n, correct / n


class Trainer:
    """Mini-batch training of a network with an optimizer, epoch by epoch.

    Each epoch is one full pass over the training set in a fresh random order (every
    sample is used once; the last batch is smaller when ``batch_size`` does not divide
    N). Each iteration takes the next batch, calls ``network.loss_and_gradient`` once and
    ``optimizer.update`` once. After each epoch the network is evaluated on the training
    data and on the validation data, if any; then early stopping, best weights, the
    callbacks and the checkpoint see the epoch's record, in that order.

    Parameters
    ----------
    network : a :class:`networks.Sequential` (anything with ``params``, ``loss``,
        ``loss_and_gradient``, ``last_layer``; ``state_dict``/``load_state_dict`` for
        early stopping and checkpoints, ``save_params`` for best weights).
    optimizer : an :mod:`optim.optimizers` optimizer (``update(params, grads)``;
        ``state_dict``/``load_state_dict`` for checkpoints).
    x_train : (N, ...) training inputs, any floating dtype; each batch is cast once
        to the network's ``dtype`` (float32 data can train a float64 net and back).
    t_train : (N,) integer labels or (N, C) one-hot rows.
    x_val, t_val : optional validation set, evaluated after every epoch.
        NaN or inf anywhere in the four arrays is a ValueError naming the array and the
        index of the first bad value, raised here, before anything is trained.

    The rest are keyword arguments:

    epochs : int >= 1, number of full passes (ignored when ``iterations`` is given).
    batch_size : int >= 1, samples per update.
    iterations : int >= 1 or None. Run exactly this many updates instead of ``epochs``
        passes (the articles' set-ups): each iteration takes the next batch of a
        shuffled pass, a new pass starts with a new permutation, and the network is
        evaluated at the end of each pass and after the last iteration.
    drop_last : None (default), True or False. True drops the last, smaller batch of each
        pass. None chooses: True when the network has a BatchNormalization layer and
        N % batch_size == 1 (a batch of one sample has no variance to normalise by), else
        False.
    rng : None, int or np.random.Generator, for the shuffles (and the training subset
        of ``train_eval_size``).
    lr_schedule : None or a callable ``epoch -> lr`` (``epoch`` counted from 0), for example
        :class:`StepDecay` or :class:`ExponentialDecay`; the optimizer's ``lr`` is set to it
        at the start of each epoch.
    early_stopping : None or an :class:`EarlyStopping`: stop when its monitor has not
        improved for ``patience`` epochs and (``restore_best``) put the best weights back.
    best_weights : None, a path, or a :class:`BestWeights`: write the parameters to that
        ``.npz`` file whenever the monitored metric improves (a path watches
        ``'val_loss'``). What earlier versions called ``checkpoint``.
    checkpoint : None or the path of a checkpoint file: after every epoch the whole
        training state is written there, atomically (see "Checkpoints and resume").
    resume : bool. Continue from ``checkpoint``, which must exist: the network, the
        optimizer and everything else are restored from it here, and :meth:`fit` goes on
        from the epoch after the one the checkpoint was written at.
    divergence_factor : float > 1 or None (default 100). Training stops with
        :class:`TrainingDivergedError` when a mini-batch loss is NaN or infinite, or more
        than ``divergence_factor`` times the first mini-batch loss of the run (see
        :mod:`optim.divergence`). None: only NaN and inf stop it.
    max_grad_norm : None (default) or a float > 0: clip the gradients by their global norm
        before every update (:func:`bprop.optim.clip_grads`: when the L2 norm of all
        gradients together exceeds it, every gradient is scaled by
        ``max_grad_norm / (norm + 1e-6)``), as recurrent networks usually need.
    callbacks : sequence of callables ``callback(trainer, record)``, called after each
        epoch with that epoch's values (a dict with the per-epoch keys of
        :class:`History`); one that returns True stops training. Their own state is not
        part of a checkpoint.
    verbose : 0 silent; 1 a tqdm progress bar with the running loss during each epoch
        on a terminal (replaced by the epoch's line when it ends), and just one line per
        epoch when stderr is not a terminal; 2 one line per epoch (for log files).
    eval_batch_size : int >= 1, batch size of the per-epoch evaluations.
    train_eval_size : int >= 1 or None. None evaluates the whole training set after
        each epoch (cheap enough for MNIST's 60000 samples, as it is done in batches);
        an int evaluates a fixed random subset of that many samples, drawn once.

    Checkpoints and resume
    ----------------------
    With ``checkpoint=path`` the Trainer writes, after every epoch, one ``.npz`` file
    (format in :mod:`optim.checkpoint`, read without pickle) holding: the network's
    ``state_dict`` (parameters, batch-norm statistics) and its layers' ``state()``
    (dropout random streams), the optimizer's ``state_dict``, the epoch and iteration
    counters (which are the learning-rate schedule's position), the shuffling random
    stream, the training-evaluation subset, the history, the early-stopping and
    best-weights bookkeeping with the best weights, and the divergence reference. A
    new process that builds the same network, optimizer and data and passes
    ``resume=True`` ends with parameters and a history identical, bit for bit, to those
    of a run that was never interrupted (``'time'`` aside). Resuming checks the file
    before anything changes: a network of other shapes is refused naming the key and
    both shapes, as are another optimizer, another number of training or validation
    samples, or another ``batch_size``, ``drop_last`` or ``train_eval_size``. ``epochs``
    (or ``iterations``) may be raised to train on; a run that had ended (all epochs done,
    or stopped early) ends again at once.

    Attributes
    ----------
    history : History of the last (or current) ``fit``; kept when training diverges.
    iterations_per_epoch : int, ``ceil(N / batch_size)`` (``N // batch_size`` with drop_last).
    epochs_done, steps_done : epochs and iterations completed.
    checkpoint_epoch : the epoch the checkpoint file holds (None before the first is written
        or read): what a resume would continue from.
    progress, divergence : the :class:`Progress` and :class:`DivergenceCheck` parts.

    Examples
    --------
    >>> net = MultiLayerNet(784, [100], 10, rng=0)
    >>> trainer = Trainer(net, SGD(lr=0.1), x_train, t_train, x_test, t_test, epochs=10, rng=0)
    >>> history = trainer.fit()
    >>> history['val_acc'][-1]
    >>> Trainer(net, Adam(lr=1e-3), x_train, t_train, x_val, t_val, epochs=20, rng=0,
    ...         lr_schedule=ExponentialDecay(1e-3, gamma=0.8),
    ...         early_stopping=EarlyStopping(patience=3), best_weights="best.npz",
    ...         checkpoint="run.npz", resume=os.path.exists("run.npz")).fit()
    """

    def __init__(self, network, optimizer, x_train, t_train, x_val=None, t_val=None, *,
                 epochs=10, batch_size=100, iterations=None, drop_last=None, rng=None,
                 lr_schedule=None, early_stopping=None, best_weights=None, checkpoint=None,
                 resume=False, divergence_factor=DIVERGENCE_FACTOR, max_grad_norm=None, callbacks=(),
                 verbose=1, eval_batch_size=1000, train_eval_size=None, **renamed):
        for name in renamed:
            if name in _RENAMED:
                raise TypeError(f"Trainer: {name}= is now {_RENAMED[name]}")
            raise TypeError(f"Trainer got an unexpected keyword argument {name!r}")
        for attr in ("params", "loss", "loss_and_gradient"):
            if not hasattr(network, attr):
                raise ValueError(f"Trainer: network must have `{attr}`, got {type(network).__name__}")
        if not callable(getattr(optimizer, "update", None)):
            raise ValueError(f"Trainer: optimizer must have update(params, grads), got {optimizer!r}")
        self.network = network
        self.optimizer = optimizer

        # The data, checked at the door: shapes, lengths, and NaN or inf anywhere.
        self.x_train, self.t_train = _check_pair("x_train", x_train, "t_train", t_train)
        if (x_val is None) != (t_val is None):
            raise ValueError("Trainer: give both x_val and t_val, or neither")
        if x_val is not None:
            x_val, t_val = _check_pair("x_val", x_val, "t_val", t_val)
        self.x_val, self.t_val = x_val, t_val

        self.epochs = check_int("Trainer", "epochs", epochs, 1)
        self.batch_size = check_int("Trainer", "batch_size", batch_size, 1)
        self.iterations = check_int("Trainer", "iterations", iterations, 1, allow_none=True)
        self.eval_batch_size = check_int("Trainer", "eval_batch_size", eval_batch_size, 1)
        self.train_eval_size = check_int("Trainer", "train_eval_size", train_eval_size, 1, allow_none=True)
        self.rng = make_rng(rng)
        self.progress = Progress(verbose)
        self.divergence = DivergenceCheck(divergence_factor)
        self.max_grad_norm = check_positive("Trainer", "max_grad_norm", max_grad_norm, allow_none=True)
        self.callbacks = tuple(callbacks)
        for cb in self.callbacks:
            if not callable(cb):
                raise ValueError(f"Trainer: every callback must be callable, got {cb!r}")
        self.lr_schedule = self._check_schedule(lr_schedule)
        self.early_stopping, self.best_weights = self._check_watchers(early_stopping, best_weights)
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        if self.checkpoint is not None:
            self._check_can_checkpoint()

        n = len(self.x_train)
        self.drop_last = self._choose_drop_last(drop_last, n)
        self._batches = MiniBatchIterator(self.x_train, self.t_train, self.batch_size,
                                          drop_last=self.drop_last, rng=self.rng)
        self.iterations_per_epoch = len(self._batches)
        if self.train_eval_size is None or self.train_eval_size >= n:
            self._set_train_eval_index(None)
        else:
            self._set_train_eval_index(np.sort(self.rng.choice(n, self.train_eval_size, replace=False)))
        self._start_run()
        self._resumed_from = None
        self.checkpoint_epoch = None
        if not isinstance(resume, (bool, np.bool_)):
            raise ValueError(f"Trainer: resume must be True or False, got {resume!r}")
        if resume:
            if self.checkpoint is None:
                raise ValueError("Trainer: resume=True needs checkpoint=PATH, the file to continue from")
            self.load_checkpoint(self.checkpoint)

    # --- checks of the arguments -----------------------------------------------------
    def _check_schedule(self, schedule):
        if schedule is None:
            return None
        if not callable(schedule):
            raise ValueError(
                f"Trainer: lr_schedule must be None or a callable epoch -> lr, such as "
                f"StepDecay(lr0, step_size, gamma) or ExponentialDecay(lr0, gamma), got {schedule!r}")
        if not hasattr(self.optimizer, "lr"):
            raise ValueError(f"Trainer: lr_schedule needs an optimizer with an `lr`, got {self.optimizer!r}")
        return schedule

    def _check_watchers(self, early_stopping, best_weights):
        if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
            raise ValueError(f"Trainer: early_stopping must be None or an EarlyStopping, got {early_stopping!r}")
        if best_weights is not None and not isinstance(best_weights, BestWeights):
            if not isinstance(best_weights, (str, os.PathLike)):
                raise ValueError(f"Trainer: best_weights must be None, a path or a BestWeights, got {best_weights!r}")
            best_weights = BestWeights(best_weights)
        for part, name in ((early_stopping, "early stopping"), (best_weights, "best_weights")):
            if part is not None and part.best.needs_validation and self.x_val is None:
                raise ValueError(
                    f"Trainer: monitor={part.monitor!r} needs validation data (x_val, t_val) for "
                    f"{name}; pass them, or monitor 'train_loss' / 'train_acc'")
        if best_weights is not None and not hasattr(self.network, "save_params"):
            raise ValueError("Trainer: best_weights needs a network with save_params(path)")
        return early_stopping, best_weights

    def _check_can_checkpoint(self):
        for attr in ("state_dict", "load_state_dict"):
            if not hasattr(self.network, attr):
                raise ValueError(f"Trainer: checkpoint needs a network with {attr}(), "
                                 f"got {type(self.network).__name__}")
            if not hasattr(self.optimizer, attr):
                raise ValueError(f"Trainer: checkpoint needs an optimizer with {attr}(), got {self.optimizer!r}")

    def _choose_drop_last(self, drop_last, n):
        if drop_last is None:
            drop_last = _has_batchnorm(self.network) and n % self.batch_size == 1
            if drop_last and n == 1:
                raise ValueError("Trainer: a network with batch normalization cannot train on 1 sample "
                                 "(a batch needs at least 2 to estimate a variance)")
        elif not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"Trainer: drop_last must be None, True or False, got {drop_last!r}")
        if drop_last and n < self.batch_size:
            raise ValueError(f"Trainer: drop_last=True with {n} training samples and batch_size="
                             f"{self.batch_size} leaves no batch")
        return bool(drop_last)

    # --- the loop --------------------------------------------------------------------
    @property
    def total_steps(self):
        """Iterations the run makes in all."""
        return self.iterations if self.iterations is not None else self.epochs * self.iterations_per_epoch

    @property
    def n_epochs(self):
        """Epochs (passes, the last one maybe partial) the run makes in all."""
        return -(-self.total_steps // self.iterations_per_epoch)

    def fit(self):
        """Train; return the :class:`History` (also kept as ``self.history``).

        Each call starts a new run (a new history) from the network's current parameters
        and the optimizer's current state, except the first call after ``resume=True``
        (or :meth:`load_checkpoint`), which continues the run of the checkpoint.

        Raises
        ------
        TrainingDivergedError
            When the divergence rule stops training; the history so far is attached.
        """
        if self._resumed_from is not None:
            self.progress.say(f"resuming from {self._resumed_from} after epoch {self.epochs_done} "
                              f"({self.steps_done} iterations)")
            self._resumed_from = None
        else:
            self._start_run()
        # An overflow shows up as a non-finite loss, which is checked after every step and
        # reported with its epoch and iteration; numpy's own warnings would say less.
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                return self._fit()
            finally:
                self.progress.close()

    def _fit(self):
        clock = time.perf_counter() - self._elapsed
        epoch = self.epochs_done
        while self.history["stopped_epoch"] is None and epoch < self.n_epochs:
            epoch += 1
            lr = self._set_lr(epoch)
            self._train_epoch(epoch, lr)
            record = self._evaluate(epoch, lr, time.perf_counter() - clock)
            stop = self._end_epoch(record)
            self.epochs_done, self._elapsed = epoch, record["time"]
            if self.checkpoint is not None:
                self.save_checkpoint(self.checkpoint)
                self.checkpoint_epoch = epoch
            if stop:
                break
        if self.early_stopping is not None:
            self.early_stopping.restore(self.network)
        return self.history

    def _train_epoch(self, epoch, lr):
        """One pass: for each mini-batch, loss and gradients, then an update."""
        net, opt, dtype = self.network, self.optimizer, getattr(self.network, "dtype", None)
        steps = min(self.iterations_per_epoch, self.total_steps - self.steps_done)
        self.progress.start_epoch(epoch, self.n_epochs, steps)
        batches = iter(self._batches)  # a new permutation each pass
        for i in range(steps):
            x, t = next(batches)
            if dtype is not None and x.dtype != dtype:
                x = x.astype(dtype)
            loss, grads = net.loss_and_gradient(x, t)
            self.steps_done += 1
            self.history["iter_loss"].append(float(loss))
            self._check_divergence(epoch, i + 1, float(loss), lr)
            if self.max_grad_norm is not None:
                clip_grads(grads, self.max_grad_norm)
            opt.update(net.params, grads)
            self.progress.step(loss)

    # --- the parts the loop calls ----------------------------------------------------
    def _start_run(self):
        """A new run: empty history, counters at 0, the parts' bookkeeping forgotten."""
        self.history = History()
        self.history["iterations_per_epoch"] = self.iterations_per_epoch
        self.epochs_done, self.steps_done, self._elapsed = 0, 0, 0.0
        self.divergence.reset()
        for part in (self.early_stopping, self.best_weights):
            if part is not None:
                part.reset()

    def _set_lr(self, epoch):
        if self.lr_schedule is not None:
            self.optimizer.lr = self.lr_schedule(epoch - 1)
        lr = getattr(self.optimizer, "lr", None)
        return None if lr is None else float(lr)

    def _check_divergence(self, epoch, iteration, loss, lr):
        if self.divergence.diverged(loss):
            self.history["diverged"] = True
            reference = self.divergence.reference if math.isfinite(loss) else None
            raise TrainingDivergedError(epoch, iteration, self.steps_done, loss, lr, self.history,
                                        reference=reference, factor=self.divergence.factor)

    def _set_train_eval_index(self, index):
        self._train_eval_index = index
        if index is None:
            self._train_eval_set = (self.x_train, self.t_train)
        else:
            self._train_eval_set = (self.x_train[index], self.t_train[index])

    def _evaluate(self, epoch, lr, elapsed):
        train_loss, train_acc = evaluate(self.network, *self._train_eval_set, self.eval_batch_size)
        record = {"epoch": epoch, "iteration": self.steps_done, "train_loss": train_loss,
                  "train_acc": train_acc}
        if self.x_val is not None:
            record["val_loss"], record["val_acc"] = evaluate(
                self.network, self.x_val, self.t_val, self.eval_batch_size)
        record["lr"] = lr
        record["time"] = elapsed
        return record

    def _end_epoch(self, record):
        """Record the epoch, show it, let the watchers and callbacks see it; True to stop."""
        history = self.history
        for key, value in record.items():
            history[key].append(value)
        self.progress.end_epoch(record, self.n_epochs)
        stop = False
        if self.early_stopping is not None:
            stop = self.early_stopping.update(record, self.network)
        if self.best_weights is not None:
            self.best_weights.update(record, self.network)
        watched = self.early_stopping or self.best_weights
        if watched is not None:
            history["best_epoch"], history["best_score"] = watched.best.best_epoch, watched.best.best_score
        for cb in self.callbacks:
            if cb(self, dict(record)) is True:
                stop = True
        if stop:
            history["stopped_epoch"] = record["epoch"]
            line = f"stopped after epoch {record['epoch']}"
            if history["best_epoch"] is not None:
                line += f"; best {watched.monitor} {history['best_score']:.4f} at epoch {history['best_epoch']}"
            self.progress.say(line)
        return stop

    # --- checkpoints -----------------------------------------------------------------
    def _setup(self):
        """What a checkpoint must agree on with the Trainer that resumes from it."""
        return {"n_train": len(self.x_train), "n_val": None if self.x_val is None else len(self.x_val),
                "batch_size": self.batch_size, "drop_last": self.drop_last,
                "train_eval_size": self.train_eval_size, "optimizer": type(self.optimizer).__name__}

    def state_dict(self):
        """The whole training state, as the checkpoint file holds it: a dict of JSON values
        and arrays (copies), see "Checkpoints and resume"."""
        net = self.network
        return {
            "setup": self._setup(),
            "progress": {"epochs_done": self.epochs_done, "steps_done": self.steps_done,
                         "elapsed": self._elapsed},
            # the per-iteration losses as one float64 array: exact, and no JSON text that
            # grows by an epoch's worth of numbers at every write
            "history": dict(self.history, iter_loss=np.array(self.history["iter_loss"], dtype=np.float64)),
            "network": {k: np.array(v, copy=True) for k, v in net.state_dict().items()},
            "layer_state": net.state() if hasattr(net, "state") else None,
            "optimizer": self.optimizer.state_dict(),
            "shuffle_rng": self.rng.bit_generator.state,
            "train_eval_index": self._train_eval_index,
            "divergence": self.divergence.state_dict(),
            "early_stopping": None if self.early_stopping is None else self.early_stopping.state_dict(),
            "best_weights": None if self.best_weights is None else self.best_weights.state_dict(),
        }

    def save_checkpoint(self, path):
        """Write :meth:`state_dict` to ``path`` as one ``.npz`` file, atomically (a process
        killed while writing leaves the previous checkpoint intact)."""
        save_checkpoint(path, self.state_dict())

    def load_checkpoint(self, path):
        """Restore everything from the checkpoint file at ``path`` (as ``resume=True``
        does); the next :meth:`fit` continues that run. Everything is checked before
        anything changes."""
        self.load_state_dict(load_checkpoint(path), source=os.fspath(path))
        self._resumed_from = os.fspath(path)
        self.checkpoint_epoch = self.epochs_done

    def load_state_dict(self, state, source="the state"):
        """Restore a :meth:`state_dict`; the next :meth:`fit` continues that run.

        Raises ValueError naming ``source`` and what does not fit (for another network,
        the key and both shapes); the Trainer, network and optimizer are then unchanged.
        """
        self._check_state(state, source)
        backup = self.state_dict()
        try:
            self._apply_state(state, source)
        except BaseException:
            self._apply_state(backup, "the state before loading")
            raise
        self._resumed_from = source

    def _apply_state(self, state, source):
        # The network first: its load checks every key and shape before it changes anything.
        net = self.network
        net.load_state_dict(state["network"], source=source)
        if state["layer_state"] is not None:
            net.set_state(state["layer_state"])
        self.optimizer.load_state_dict(state["optimizer"], params=net.params)
        self.rng.bit_generator.state = state["shuffle_rng"]
        index = state["train_eval_index"]
        self._set_train_eval_index(None if index is None else np.array(index))
        self.history = History()
        self.history.update(state["history"])
        self.history["iter_loss"] = np.asarray(state["history"]["iter_loss"], dtype=np.float64).tolist()
        progress = state["progress"]
        self.epochs_done, self.steps_done = int(progress["epochs_done"]), int(progress["steps_done"])
        self._elapsed = float(progress["elapsed"])
        self.divergence.load_state_dict(state["divergence"])
        for name, part in (("early_stopping", self.early_stopping), ("best_weights", self.best_weights)):
            if part is not None:
                part.load_state_dict(state[name], source)

    def _check_state(self, state, source):
        missing = sorted(set(STATE_KEYS) - set(state)) if isinstance(state, Mapping) else "everything"
        if missing:
            raise ValueError(f"{source} is not a Trainer state: {missing} missing")
        saved, mine = state["setup"], self._setup()
        for key, value in mine.items():
            if saved.get(key) != value:
                raise ValueError(f"{source} was written with {key}={saved.get(key)!r}, but this Trainer "
                                 f"has {key}={value!r}; resume with the same data and settings")
        done = state["progress"]["steps_done"]
        if done > self.total_steps:
            raise ValueError(f"{source} is after iteration {done} (epoch {state['progress']['epochs_done']}), "
                             f"past the end of this Trainer's run ({self.total_steps} iterations)")
        if done % self.iterations_per_epoch and done != self.total_steps:
            # The order of that pass is gone: the run can only end where it ended.
            raise ValueError(f"{source} ended inside a pass (iteration {done}, passes of "
                             f"{self.iterations_per_epoch}); it cannot be continued to {self.total_steps} "
                             "iterations, only to its own end")
        for name in ("early_stopping", "best_weights"):
            here, there = getattr(self, name) is not None, state.get(name) is not None
            if here != there:
                raise ValueError(f"{source} was written {'with' if there else 'without'} {name}, but this "
                                 f"Trainer has {'it' if here else 'none'}; resume with the same settings")
            if here and state[name]["scalars"]["monitor"] != getattr(self, name).monitor:
                raise ValueError(f"{source} has {name} watching {state[name]['scalars']['monitor']!r}, "
                                 f"this Trainer's watches {getattr(self, name).monitor!r}")
        layer_state = state.get("layer_state")
        if layer_state is not None and hasattr(self.network, "state"):
            mine = set(self.network.state())
            if set(layer_state) != mine:
                raise ValueError(f"{source} has the layers {sorted(layer_state)}, this network "
                                 f"{sorted(mine)}")

    def __repr__(self):
        mode = f"iterations={self.iterations}" if self.iterations is not None else f"epochs={self.epochs}"
        return (f"Trainer({type(self.network).__name__}, {self.optimizer!r}, n_train={len(self.x_train)}, "
                f"{mode}, batch_size={self.batch_size})")

