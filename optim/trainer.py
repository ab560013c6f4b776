"""The training loop: shuffled mini-batches, one update per batch, an evaluation per epoch.

:class:`Trainer` drives any network with ``loss_and_gradient(x, t) -> (loss, grads)``
and ``params`` (every :class:`networks.Net`) with any optimizer that has
``update(params, grads)``. It records a :class:`History`, can stop early on a
validation metric, checkpoints the best parameters, decays the learning rate per
epoch, and stops with :class:`TrainingDivergedError` when the loss is NaN or infinite.
"""

import math
import shutil
import sys
import time

import numpy as np
from tqdm import tqdm

from bprop.datasets.batching import MiniBatchIterator
from bprop.layers.checks import check_int
from bprop.layers.rng import make_rng

#: metrics early stopping and checkpoints can watch, and whether lower or higher is better
MONITORS = {"val_loss": "min", "val_acc": "max", "train_loss": "min", "train_acc": "max"}

#: names accepted by ``lr_schedule``
LR_SCHEDULES = ("step", "exponential")


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite.

    Attributes
    ----------
    epoch : int, 1-based epoch in which it happened.
    iteration : int, 1-based iteration within that epoch.
    step : int, 1-based iteration counted from the start of training.
    loss : float, the non-finite loss.
    lr : float or None, the learning rate at that moment.
    history : History, everything recorded up to and including the bad step
        (its ``iter_loss`` ends with the non-finite loss).
    """

    def __init__(self, epoch, iteration, step, loss, lr, history):
        self.epoch = epoch
        self.iteration = iteration
        self.step = step
        self.loss = loss
        self.lr = lr
        self.history = history
        hint = (
            f" with lr={lr:g}; the learning rate is probably too large, try a smaller one "
            f"(e.g. lr={lr / 10:g})" if lr is not None
            else "; the learning rate is probably too large, try a smaller one"
        )
        super().__init__(
            f"training diverged: the loss is {loss} at epoch {epoch}, iteration {iteration} "
            f"({step} iterations in all){hint}. The history so far is in this error's "
            "`history` attribute and in `trainer.history`."
        )


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
    - ``'time'``: seconds since ``fit`` started, at the end of the epoch.

    Per iteration: ``'iter_loss'``, the training-mode mini-batch loss each update was
    computed from (the loss ``loss_and_gradient`` returned; no extra forward pass).

    Scalars: ``'iterations_per_epoch'``; ``'best_epoch'`` and ``'best_score'`` (by
    ``monitor``, None when it is not tracked); ``'stopped_epoch'`` (the epoch at which
    early stopping or a callback ended training, else None); ``'diverged'`` (bool).
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
    return x, t


def step_decay(lr0, step_size, gamma):
    """Schedule ``epoch -> lr0 * gamma ** (epoch // step_size)`` (epoch counted from 0)."""
    return lambda epoch: lr0 * gamma ** (epoch // step_size)


def exponential_decay(lr0, gamma):
    """Schedule ``epoch -> lr0 * gamma ** epoch`` (epoch counted from 0)."""
    return lambda epoch: lr0 * gamma ** epoch


def evaluate(network, x, t, batch_size=1000):
    """Loss and accuracy of ``network`` on ``(x, t)`` in inference mode, in batches.

    One forward pass per batch: the loss comes from ``network.loss`` (weight decay
    included) and the accuracy from the scores its loss layer keeps (``last_layer.y``).

    Parameters
    ----------
    network : a :class:`networks.Net`.
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
        total_loss += network.loss(xb, tb, train=False) * len(xb)
        predicted = np.argmax(network.last_layer.y, axis=1)
        labels = tb if tb.ndim == 1 else np.argmax(tb, axis=1)
        correct += int(np.count_nonzero(predicted == labels))
    return total_loss / n, correct / n


class Trainer:
    """Mini-batch training of a network with an optimizer, epoch by epoch.

    Each epoch is one full pass over the training set in a fresh random order (every
    sample is used exactly once; the last batch is smaller when ``batch_size`` does
    not divide N). Each iteration takes the next batch, calls
    ``network.loss_and_gradient`` once and ``optimizer.update`` once. After each epoch
    the network is evaluated on the training data and on the validation data, if any.

    Parameters
    ----------
    network : a :class:`networks.Net` (anything with ``params``, ``loss``,
        ``loss_and_gradient``, ``last_layer``; ``state_dict``/``save_params`` for
        early stopping and checkpoints).
    optimizer : an :mod:`optim.optimizers` optimizer (``update(params, grads)``).
    x_train : (N, ...) training inputs, any floating dtype; each batch is cast once
        to the network's ``dtype`` (float32 data can train a float64 net and back).
    t_train : (N,) integer labels or (N, C) one-hot rows.
    x_val, t_val : optional validation set, evaluated after every epoch.
    epochs : int >= 1, number of full passes (ignored when ``iterations`` is given).
    batch_size : int >= 1, samples per update.
    iterations : int >= 1 or None. Run exactly this many updates instead of ``epochs``
        passes (the articles' set-ups): each iteration takes the next batch of a
        shuffled pass, a new pass starts with a new permutation, and the network is
        evaluated at the end of each pass and after the last iteration.
    rng : None, int or np.random.Generator, for the shuffles (and the training
        subset of ``train_eval_size``).
    verbose : 0 silent; 1 a tqdm progress bar with the running loss during each epoch
        on a terminal (replaced by the epoch's line when it ends), and just one line per
        epoch when stderr is not a terminal; 2 one line per epoch (for log files).
    callbacks : sequence of callables ``callback(trainer, record)``, called after each
        epoch with that epoch's values (a dict with the per-epoch keys of
        :class:`History`); one that returns True stops training.
    patience : int >= 1 or None. Early stopping: stop when ``monitor`` has not
        improved (by more than ``min_delta``) for ``patience`` epochs. None: never.
    monitor : 'val_loss' | 'val_acc' | 'train_loss' | 'train_acc', the metric early
        stopping and checkpoints watch (losses lower is better, accuracies higher).
    min_delta : float >= 0, the least change that counts as an improvement.
    restore_best : bool. With ``patience``, copy the best epoch's parameters (and
        batch-norm running statistics) back into the network, in place, at the end.
    checkpoint : path of a ``.npz`` file or None. Whenever ``monitor`` improves, the
        parameters are written there with ``network.save_params`` (an atomic write).
    lr_schedule : None, 'step' (``lr0 * lr_gamma ** (epoch // lr_step_size)``),
        'exponential' (``lr0 * lr_gamma ** epoch``) or a callable ``epoch -> lr``;
        ``epoch`` counts from 0, ``lr0`` is the optimizer's lr when the Trainer is built,
        and the optimizer's ``lr`` is set at the start of each epoch.
    lr_step_size : int >= 1, epochs between two 'step' decays.
    lr_gamma : float > 0, the decay factor.
    eval_batch_size : int >= 1, batch size of the per-epoch evaluations.
    train_eval_size : int >= 1 or None. None evaluates the whole training set after
        each epoch (cheap enough for MNIST's 60000 samples, as it is done in batches);
        an int evaluates a fixed random subset of that many samples, drawn once.

    Attributes
    ----------
    history : History of the last (or current) ``fit``, filled in as training goes: each
        epoch's values are appended when the epoch ends, each mini-batch loss as soon as
        it is computed. So after any exception out of ``fit`` (a divergence, or a ``KeyboardInterrupt``
        from Ctrl-C) it holds every completed epoch, and ``iter_loss`` may also hold the
        losses of the interrupted epoch's steps (``history['iteration'][-1]`` counts the
        completed ones). The network's weights are then those of the last step taken; a
        callback that copies them after each epoch keeps the last completed epoch's.
    iterations_per_epoch : int, ``ceil(N / batch_size)``.

    Examples
    --------
    >>> net = MultiLayerNet(784, [100], 10, rng=0)
    >>> trainer = Trainer(net, SGD(lr=0.1), x_train, t_train, x_test, t_test, epochs=10, rng=0)
    >>> history = trainer.fit()
    >>> history['val_acc'][-1]
    """

    def __init__(self, network, optimizer, x_train, t_train, x_val=None, t_val=None, epochs=10,
                 batch_size=100, iterations=None, rng=None, verbose=1, callbacks=(), patience=None,
                 monitor="val_loss", min_delta=0.0, restore_best=True, checkpoint=None,
                 lr_schedule=None, lr_step_size=10, lr_gamma=0.5, eval_batch_size=1000,
                 train_eval_size=None):
        for attr in ("params", "loss", "loss_and_gradient"):
            if not hasattr(network, attr):
                raise ValueError(f"Trainer: network must have `{attr}`, got {type(network).__name__}")
        if not callable(getattr(optimizer, "update", None)):
            raise ValueError(f"Trainer: optimizer must have update(params, grads), got {optimizer!r}")
        self.network = network
        self.optimizer = optimizer
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
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"Trainer: verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self.rng = make_rng(rng)

        self.callbacks = tuple(callbacks)
        for cb in self.callbacks:
            if not callable(cb):
                raise ValueError(f"Trainer: every callback must be callable, got {cb!r}")

        if monitor not in MONITORS:
            raise ValueError(f"Trainer: monitor must be one of {sorted(MONITORS)}, got {monitor!r}")
        self.monitor = monitor
        self.patience = check_int("Trainer", "patience", patience, 1, allow_none=True)
        self.min_delta = float(min_delta)
        if not self.min_delta >= 0 or not math.isfinite(self.min_delta):
            raise ValueError(f"Trainer: min_delta must be a finite number >= 0, got {min_delta!r}")
        self.restore_best = bool(restore_best)
        self.checkpoint = checkpoint
        if (self.patience is not None or checkpoint is not None) and monitor.startswith("val") \
                and x_val is None:
            raise ValueError(
                f"Trainer: monitor={monitor!r} needs validation data (x_val, t_val) for early "
                "stopping or checkpoints; pass them, or monitor 'train_loss' / 'train_acc'"
            )
        if checkpoint is not None and not hasattr(network, "save_params"):
            raise ValueError("Trainer: checkpoint needs a network with save_params(path)")

        self.lr_step_size = check_int("Trainer", "lr_step_size", lr_step_size, 1)
        self.lr_gamma = float(lr_gamma)
        if not self.lr_gamma > 0 or not math.isfinite(self.lr_gamma):
            raise ValueError(f"Trainer: lr_gamma must be a finite number > 0, got {lr_gamma!r}")
        self.lr_schedule = self._make_schedule(lr_schedule)

        n = len(self.x_train)
        self._batches = MiniBatchIterator(self.x_train, self.t_train, self.batch_size, rng=self.rng)
        self.iterations_per_epoch = len(self._batches)
        if self.train_eval_size is None or self.train_eval_size >= n:
            self._train_eval_index = None
        else:
            self._train_eval_index = np.sort(self.rng.choice(n, self.train_eval_size, replace=False))
            self._train_eval_set = (self.x_train[self._train_eval_index], self.t_train[self._train_eval_index])
        self.history = History()

    def _make_schedule(self, lr_schedule):
        if lr_schedule is None:
            return None
        if not callable(lr_schedule) and lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"Trainer: lr_schedule must be None, 'step', 'exponential' or a callable "
                f"epoch -> lr, got {lr_schedule!r}"
            )
        if not hasattr(self.optimizer, "lr"):
            raise ValueError(f"Trainer: lr_schedule needs an optimizer with an `lr`, got {self.optimizer!r}")
        if callable(lr_schedule):
            return lr_schedule
        lr0 = float(self.optimizer.lr)
        if lr_schedule == "step":
            return step_decay(lr0, self.lr_step_size, self.lr_gamma)
        return exponential_decay(lr0, self.lr_gamma)

    # --- the loop ------------------------------------------------------------------
    def fit(self):
        """Train; return the :class:`History` (also kept as ``self.history``).

        Each call starts a new history and continues from the network's current
        parameters and the optimizer's current state.

        Raises
        ------
        TrainingDivergedError
            If a mini-batch loss is NaN or infinite; the history so far is attached.
        """
        # An overflow shows up as a non-finite loss, which is checked after every step and
        # reported with its epoch and iteration; numpy's own warnings would say less.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._fit()

    def _fit(self):
        net, opt = self.network, self.optimizer
        dtype = getattr(net, "dtype", None)
        history = self.history = History()
        history["iterations_per_epoch"] = self.iterations_per_epoch
        total = self.iterations if self.iterations is not None else self.epochs * self.iterations_per_epoch
        n_epochs = -(-total // self.iterations_per_epoch)
        mode = MONITORS[self.monitor]
        tracking = self.patience is not None or self.checkpoint is not None
        best_score, best_state, wait = None, None, 0
        step, start = 0, time.perf_counter()

        for epoch in range(1, n_epochs + 1):
            if self.lr_schedule is not None:
                opt.lr = self.lr_schedule(epoch - 1)
            lr = getattr(opt, "lr", None)
            steps_here = min(self.iterations_per_epoch, total - step)
            bar = self._progress_bar(epoch, n_epochs, steps_here)
            batches = iter(self._batches)  # a new permutation each pass
            running = 0.0
            try:
                for i in range(steps_here):
                    xb, tb = next(batches)
                    if dtype is not None and xb.dtype != dtype:
                        xb = xb.astype(dtype)
                    loss, grads = net.loss_and_gradient(xb, tb)
                    step += 1
                    history["iter_loss"].append(float(loss))
                    if not math.isfinite(loss):
                        history["diverged"] = True
                        raise TrainingDivergedError(epoch, i + 1, step, float(loss), lr, history)
                    opt.update(net.params, grads)
                    running += loss
                    if bar is not None and (i % 10 == 9 or i == steps_here - 1):
                        bar.set_postfix_str(f"loss {running / (i + 1):.4f}", refresh=False)
                        bar.update(i + 1 - bar.n)
            except BaseException:
                if bar is not None:
                    bar.close()
                raise

            record = self._evaluate(epoch, step, lr, time.perf_counter() - start)
            for key, value in record.items():
                history[key].append(value)
            self._report(bar, record, n_epochs)

            stop = False
            if tracking:
                score = record[self.monitor]
                improved = best_score is None or (
                    score < best_score - self.min_delta if mode == "min"
                    else score > best_score + self.min_delta
                )
                if improved:
                    best_score, wait = score, 0
                    history["best_epoch"], history["best_score"] = epoch, score
                    if self.patience is not None and self.restore_best:
                        best_state = self._copy_state()
                    if self.checkpoint is not None:
                        net.save_params(self.checkpoint)
                else:
                    wait += 1
                    stop = self.patience is not None and wait >= self.patience
            for cb in self.callbacks:
                if cb(self, dict(record)) is True:
                    stop = True
            if stop:
                history["stopped_epoch"] = epoch
                if self.verbose:
                    line = f"stopped after epoch {epoch}"
                    if history["best_epoch"] is not None:
                        line += (f"; best {self.monitor} {history['best_score']:.4f} "
                                 f"at epoch {history['best_epoch']}")
                    self._print(line)
                break

        if best_state is not None:
            self._load_state(best_state)
        return history

    # --- pieces --------------------------------------------------------------------
    def _evaluate(self, epoch, step, lr, elapsed):
        if self._train_eval_index is None:
            x, t = self.x_train, self.t_train
        else:
            x, t = self._train_eval_set
        train_loss, train_acc = evaluate(self.network, x, t, self.eval_batch_size)
        record = {"epoch": epoch, "iteration": step, "train_loss": train_loss, "train_acc": train_acc}
        if self.x_val is not None:
            record["val_loss"], record["val_acc"] = evaluate(
                self.network, self.x_val, self.t_val, self.eval_batch_size)
        record["lr"] = None if lr is None else float(lr)
        record["time"] = elapsed
        return record

    def _copy_state(self):
        state = self.network.state_dict() if hasattr(self.network, "state_dict") else self.network.params
        return {k: np.array(v, copy=True) for k, v in state.items()}

    def _load_state(self, saved):
        state = self.network.state_dict() if hasattr(self.network, "state_dict") else self.network.params
        for k, arr in state.items():
            arr[...] = saved[k]

    def _progress_bar(self, epoch, n_epochs, steps):
        if self.verbose != 1:
            return None
        # disable=None: tqdm turns itself off when stderr is not a terminal. The size comes
        # from shutil, which falls back to 80x24 where a terminal reports 0x0 (tqdm would
        # then draw nothing).
        size = shutil.get_terminal_size()
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{n_epochs}", unit="batch", disable=None,
                   leave=False, ncols=size.columns, nrows=size.lines)
        if bar.disable:
            bar.close()
            return None
        return bar

    @staticmethod
    def _format(record, n_epochs):
        parts = [f"epoch {record['epoch']}/{n_epochs}",
                 f"loss {record['train_loss']:.4f}", f"acc {record['train_acc']:.4f}"]
        if "val_loss" in record:
            parts += [f"val_loss {record['val_loss']:.4f}", f"val_acc {record['val_acc']:.4f}"]
        if record["lr"] is not None:
            parts.append(f"lr {record['lr']:.3g}")
        parts.append(f"{record['time']:.1f}s")
        return "  ".join(parts)

    def _report(self, bar, record, n_epochs):
        if self.verbose == 0:
            return
        if bar is not None:
            bar.close()  # the bar vanishes (leave=False); the epoch's line stays
        self._print(self._format(record, n_epochs))

    def _print(self, line):
        if self.verbose == 1:
            tqdm.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def __repr__(self):
        mode = f"iterations={self.iterations}" if self.iterations is not None else f"epochs={self.epochs}"
        return (f"Trainer({type(self.network).__name__}, {self.optimizer!r}, n_train={len(self.x_train)}, "
                f"{mode}, batch_size={self.batch_size})")
