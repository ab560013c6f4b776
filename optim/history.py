"""What a training run records, and the two callbacks last in the Trainer's list.

- :class:`History`: per-epoch lists of every logged value, per-update losses, and the
  run's scalars (best epoch, stopped epoch, divergence).
- :class:`RecordHistory` writes each epoch into the history; :class:`Checkpoint` writes the
  Trainer's whole state (:mod:`optim.train_state`) into the checkpoint file.
"""

import numpy as np

from .callbacks import Callback


class History(dict):
    """What :meth:`Trainer.fit` records, as a plain dict of JSON-friendly values.

    Per epoch, one list per logged key, one entry per epoch: ``'epoch'`` (from 1),
    ``'iteration'`` (updates done at its end), ``'train_<metric>'`` and ``'val_<metric>'``
    (``'train_loss'``, ``'val_acc'``, ``'val_perplexity'``, ...), ``'lr'`` (the optimizer's
    rate at the end of the epoch, None if it has none), ``'time'`` (seconds of training since
    the run started: a resumed run counts on from its checkpoint), and whatever callbacks add
    (``'grad_norm'``, ``'clipped'``).

    Per update: ``'iter_loss'``, the training-mode mini-batch loss of each update.

    Scalars: ``'iterations_per_epoch'``; ``'monitor'``, ``'best_epoch'`` and ``'best_score'``
    (set by :class:`EarlyStopping` or :class:`BestWeights`: what they watch, and its best); ``'stopped_epoch'`` (the epoch after
    which a callback ended training), ``'diverged'``.
    """

    SCALARS = ("iterations_per_epoch", "monitor", "best_epoch", "best_score", "stopped_epoch", "diverged")

    def __init__(self):
        super().__init__(epoch=[], iter_loss=[], iterations_per_epoch=None, monitor=None, best_epoch=None,
                         best_score=None, stopped_epoch=None, diverged=False)

    @property
    def n_epochs(self):
        """Number of epochs recorded."""
        return len(self["epoch"])

    def add_epoch(self, logs):
        """Append one epoch's logs; a key first seen now gets None for the earlier epochs."""
        done = self.n_epochs
        for key, value in logs.items():
            self.setdefault(key, [None] * done).append(value)

    def to_state(self):
        """A copy for a checkpoint: the per-update losses as one float64 array (exact, and
        no JSON text that grows by an epoch's worth of numbers at every write)."""
        return dict(self, iter_loss=np.array(self["iter_loss"], dtype=np.float64))

    @classmethod
    def from_state(cls, state):
        history = cls()
        history.update(state)
        history["iter_loss"] = np.asarray(state["iter_loss"], dtype=np.float64).tolist()
        return history


class RecordHistory(Callback):
    """Write each epoch's logs into ``trainer.history``, and the epoch a callback stopped at."""

    def on_epoch_end(self, trainer, epoch, logs):
        trainer.history.add_epoch(logs)
        if trainer.stop_training:
            trainer.history["stopped_epoch"] = epoch


class Checkpoint(Callback):
    """Write the Trainer's whole state to ``path`` after every epoch (atomically: a process
    killed while writing leaves the previous file whole). ``Trainer(checkpoint=path)`` adds
    it as the last callback, so the state of every other one is final when it is written.

    Attributes
    ----------
    epoch : the epoch the file holds (None before the first write or read).
    """

    def __init__(self, path):
        self.path = path
        self.epoch = None

    def on_epoch_end(self, trainer, epoch, logs):
        previous, self.epoch = self.epoch, epoch  # before the write: the file says which epoch it holds
        try:
            trainer.save_checkpoint(self.path)
        except BaseException:  # a Ctrl-C or an error during the write: the file holds the previous one
            self.epoch = previous
            raise

    def __repr__(self):
        return f"Checkpoint({self.path!r})"

