"""Watching one metric epoch by epoch: which epoch is best, early stopping, best weights.

:class:`EarlyStopping` and :class:`BestWeights` are Trainer callbacks: each reads the
epoch's logs (``{'epoch': 3, 'val_loss': ...}``) at ``on_epoch_end`` and keeps its own
bookkeeping, which ``state_dict()`` returns and ``load_state_dict()`` restores, so that a
resumed run stops at the same epoch and keeps the same best weights as one never interrupted.
"""

import math
import os
import numbers

import numpy as np

from .callbacks import Callback
from .state_checks import StateError, check_array, check_arrays, check_count, check_mapping, join

#: the metrics (by their key, after ``train_`` or ``val_``) for which higher is better
HIGHER_IS_BETTER = ("acc", "seq_acc")


def monitor_mode(monitor, mode=None, owner="BestEpoch"):
    """'min' or 'max' for the logged key ``monitor``: ``mode`` when given, else 'max' for
    accuracies and 'min' for everything else (losses, perplexity, mean squared error)."""
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"{owner}: monitor must be the name of a logged value such as 'val_loss', got {monitor!r}")
    if mode is None:
        return "max" if monitor.split("_", 1)[-1] in HIGHER_IS_BETTER else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{owner}: mode must be 'min', 'max' or None, got {mode!r}")
    return mode


def network_arrays(network):
    """The arrays that hold a network's weights: ``state_dict()`` (parameters and batch-norm
    running statistics) where the network has it, else ``params``."""
    return network.state_dict() if hasattr(network, "state_dict") else network.params


class BestEpoch:
    """The best epoch so far by ``monitor``, and the epochs since it.

    An epoch is an improvement when its score beats the best one by more than
    ``min_delta`` (lower for losses, higher for accuracies); the first epoch always is.

    Parameters
    ----------
    monitor : a key of the epoch's logs: 'val_loss' (default), 'val_acc', 'train_loss',
        'val_perplexity', ...
    min_delta : float >= 0, the least change that counts as an improvement.
    mode : 'min', 'max' or None (accuracies 'max', everything else 'min').

    Attributes
    ----------
    best_score, best_epoch : of the best epoch so far (None before the first).
    wait : epochs since the best one.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, owner="BestEpoch", mode=None):
        self.mode = monitor_mode(monitor, mode, owner)
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not (min_delta >= 0 and math.isfinite(min_delta)):
            raise ValueError(f"{owner}: min_delta must be a finite number >= 0, got {min_delta!r}")
        self.monitor, self.owner = monitor, owner
        self.min_delta = float(min_delta)
        self.best_score, self.best_epoch, self.wait = None, None, 0

    def reset(self):
        """Forget every epoch seen: a new run starts."""
        self.best_score, self.best_epoch, self.wait = None, None, 0

    @property
    def needs_validation(self):
        return self.monitor.startswith("val")

    def update(self, record):
        """Take an epoch's record; return True if it is the new best."""
        if self.monitor not in record:
            raise ValueError(f"{self.owner}: monitor {self.monitor!r} is not among the logged values "
                             f"{sorted(record)}")
        score = record[self.monitor]
        if self.best_score is None:
            improved = True
        elif self.mode == "min":
            improved = score < self.best_score - self.min_delta
        else:
            improved = score > self.best_score + self.min_delta
        if improved:
            self.best_score, self.best_epoch, self.wait = float(score), int(record["epoch"]), 0
        else:
            self.wait += 1
        return improved

    def state_dict(self):
        return {"monitor": self.monitor, "best_score": self.best_score,
                "best_epoch": self.best_epoch, "wait": self.wait}

    def check_state_dict(self, state, field=""):
        """Raise a :class:`StateError` if :meth:`load_state_dict` would refuse ``state``:
        the same monitor; ``best_epoch`` None or an int >= 1 and ``best_score`` a number
        (both None before the first epoch); ``wait`` an int >= 0."""
        owner = self.owner
        check_mapping(owner, field, state, ("monitor", "best_score", "best_epoch", "wait"))
        if state["monitor"] != self.monitor:
            raise StateError(owner, join(field, "monitor"), f"must be this run's {self.monitor!r}: "
                             f"got {state['monitor']!r}", f"{owner}: the state watched {state['monitor']!r}, "
                             f"this run watches {self.monitor!r}")
        epoch, score = state["best_epoch"], state["best_score"]
        if epoch is not None:
            check_count(owner, join(field, "best_epoch"), epoch, low=1)
        if (score is None) != (epoch is None) or not (score is None or isinstance(score, numbers.Real)
                                                      and not isinstance(score, bool)):
            raise StateError(owner, join(field, "best_score"), f"must be a number with best_epoch={epoch!r} "
                             f"(None with None): got {score!r}")
        check_count(owner, join(field, "wait"), state["wait"])

    def load_state_dict(self, state):
        self.check_state_dict(state)
        best_epoch = state["best_epoch"]
        self.best_score = None if state["best_score"] is None else float(state["best_score"])
        self.best_epoch = None if best_epoch is None else int(best_epoch)
        self.wait = int(state["wait"])


def _record_best(trainer, best):
    history = trainer.history
    history["monitor"], history["best_epoch"], history["best_score"] = best.monitor, best.best_epoch, best.best_score


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved (by more than ``min_delta``) for ``patience``
    epochs in a row; then, with ``restore_best``, put the best epoch's weights back.

    Parameters
    ----------
    patience : int >= 1, epochs without improvement that end training.
    monitor : a key of the epoch's logs (default 'val_loss').
    min_delta : float >= 0.
    mode : 'min', 'max' or None (accuracies 'max', everything else 'min').
    restore_best : bool. Keep a copy of the network's arrays (parameters and batch-norm
        running statistics) at each new best epoch and copy it back into the network, in
        place, when training ends, whether it ended early or not.

    Examples
    --------
    >>> Trainer(net, opt, (x, t), (x_val, t_val), epochs=50, callbacks=[EarlyStopping(patience=3)])
    """

    def __init__(self, patience, monitor="val_loss", min_delta=0.0, restore_best=True, mode=None):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 1, got {patience!r}")
        self.patience = int(patience)
        self.best = BestEpoch(monitor, min_delta, owner="EarlyStopping", mode=mode)
        self.restore_best = bool(restore_best)
        self.best_arrays = None

    @property
    def monitor(self):
        return self.best.monitor

    def reset(self):
        """Forget the best epoch and its arrays: a new run starts."""
        self.best.reset()
        self.best_arrays = None

    def on_fit_begin(self, trainer):
        if trainer.steps_done == 0:
            self.reset()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.update(logs, trainer.model):
            trainer.stop_training = True
        _record_best(trainer, self.best)

    def on_fit_end(self, trainer):
        if trainer.stop_training or trainer.epochs_done == trainer.n_epochs:  # not after an error
            self.restore(trainer.model)

    def update(self, record, network):
        """Take the epoch's record; return True when training should stop."""
        if self.best.update(record) and self.restore_best:
            self.best_arrays = {k: np.array(v, copy=True) for k, v in network_arrays(network).items()}
        return self.best.wait >= self.patience

    def restore(self, network):
        """Copy the best epoch's arrays back into ``network`` in place (with ``restore_best``)."""
        if self.best_arrays is None:
            return
        for k, arr in network_arrays(network).items():
            arr[...] = self.best_arrays[k]

    def state_dict(self):
        """``{'scalars': JSON-able bookkeeping, 'arrays': the best epoch's arrays (copies)}``."""
        return {"scalars": dict(self.best.state_dict(), patience=self.patience,
                                restore_best=self.restore_best),
                "arrays": {} if self.best_arrays is None else dict(self.best_arrays)}

    def check_state_dict(self, state, trainer=None):
        """Raise a :class:`StateError` if :meth:`load_state_dict` would refuse ``state``.

        The scalars are checked as :meth:`BestEpoch.check_state_dict` does; with
        ``restore_best``, the arrays are the best epoch's copy of the network's
        (given ``trainer``, exactly the keys and shapes of ``trainer.model``'s, each
        floating point and finite once cast to the network's dtype), present when there
        is a best epoch and absent before it. Without ``restore_best`` they are not used.
        """
        check_mapping("EarlyStopping", "", state, ("scalars", "arrays"))
        self.best.check_state_dict(state["scalars"], "scalars")
        arrays = check_mapping("EarlyStopping", "arrays", state["arrays"])
        if not self.restore_best:
            return
        has_best = state["scalars"]["best_epoch"] is not None
        if has_best and not arrays:
            raise StateError("EarlyStopping", "arrays", "must hold the best epoch's weights (restore_best=True): "
                             "got none")
        if arrays and not has_best:
            raise StateError("EarlyStopping", "arrays", f"must be empty before a best epoch: got {sorted(arrays)}")
        if trainer is not None and arrays:
            check_arrays("EarlyStopping", "arrays", arrays, network_arrays(trainer.model))
        else:
            for key, value in arrays.items():
                check_array("EarlyStopping", join("arrays", key), value)

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.best.load_state_dict(state["scalars"])
        arrays = state["arrays"] if self.restore_best else {}
        self.best_arrays = {k: np.array(v, copy=True) for k, v in arrays.items()} or None

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, monitor={self.monitor!r}, "
                f"min_delta={self.best.min_delta!r}, restore_best={self.restore_best})")


class BestWeights(Callback):
    """Write the network's weights to ``path`` whenever ``monitor`` improves.

    The file is written with ``network.save_params`` (atomic and verified), so it always
    holds the best epoch's parameters and batch-norm statistics; ``load_params`` reads it.

    Parameters
    ----------
    path : path of the ``.npz`` file.
    monitor : a key of the epoch's logs (default 'val_loss').
    min_delta : float >= 0.
    mode : 'min', 'max' or None (accuracies 'max', everything else 'min').
    """

    def __init__(self, path, monitor="val_loss", min_delta=0.0, mode=None):
        self.path = os.fspath(path)
        self.best = BestEpoch(monitor, min_delta, owner="BestWeights", mode=mode)

    @property
    def monitor(self):
        return self.best.monitor

    def reset(self):
        """Forget the best epoch: a new run starts."""
        self.best.reset()

    def on_fit_begin(self, trainer):
        if trainer.steps_done == 0:
            self.reset()

    def on_epoch_end(self, trainer, epoch, logs):
        self.update(logs, trainer.model)
        if trainer.history["monitor"] in (None, self.monitor):
            _record_best(trainer, self.best)

    def update(self, record, network):
        """Take the epoch's record; write the weights if it is the best so far."""
        if self.best.update(record):
            network.save_params(self.path)

    def state_dict(self):
        return {"scalars": dict(self.best.state_dict(), path=self.path), "arrays": {}}

    def check_state_dict(self, state, trainer=None):
        """Raise a :class:`StateError` if :meth:`load_state_dict` would refuse ``state``
        (the scalars, as :meth:`BestEpoch.check_state_dict` checks them)."""
        check_mapping("BestWeights", "", state, ("scalars",))
        self.best.check_state_dict(state["scalars"], "scalars")

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.best.load_state_dict(state["scalars"])

    def __repr__(self):
        return f"BestWeights({self.path!r}, monitor={self.monitor!r}, min_delta={self.best.min_delta!r})"
