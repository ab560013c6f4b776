"""ReduceLROnPlateau: the rate cut when a monitored value stops improving (PyTorch's)."""

import math

from bprop.layers.checks import check_int, check_positive

from .early_stopping import monitor_mode
from .lr_scheduler import LRScheduler, check_choice, check_range
from .state_checks import StateError, check_count, check_mapping, check_real


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

    def __init__(self, monitor="val_loss", mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        name = "ReduceLROnPlateau"
        self.mode = monitor_mode(monitor, mode, owner=name)
        self.monitor = monitor
        self.factor = check_range(name, "factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_int(name, "patience", patience, 0)
        self.threshold = check_range(name, "threshold", threshold)
        self.threshold_mode = check_choice(name, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = check_int(name, "cooldown", cooldown, 0)
        self.min_lr = check_range(name, "min_lr", min_lr)
        self.eps = check_range(name, "eps", eps)
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
        args = ", ".join(self._arguments())
        return f"ReduceLROnPlateau({args})"
