"""What a training run records and what its checkpoint holds.

- :class:`History`: per-epoch lists of every logged value, per-update losses, and the
  run's scalars (best epoch, stopped epoch, divergence).
- :class:`RecordHistory` and :class:`Checkpoint`: the callbacks, last in the Trainer's
  list, that write an epoch into the history and the whole state into the checkpoint file.
- :func:`check_state`: what a checkpoint must agree on with the Trainer resuming from it,
  checked before anything changes.

A Trainer's state (``Trainer.state_dict()``) holds ``setup`` (the data sizes, the batch
size, the optimizer's and callbacks' classes), ``progress`` (epochs and updates done,
seconds spent), ``history``, ``model`` (``model.state_dict()``), ``layer_state``
(dropout streams, a recurrent model's carried state), ``optimizer``, ``train_data`` (the
batch source's random stream), ``train_eval_index`` and ``callbacks`` (the state of each
callback that keeps any, by class name).
"""

import numpy as np

from .callbacks import Callback

STATE_KEYS = ("setup", "progress", "history", "model", "layer_state", "optimizer", "train_data",
              "train_eval_index", "callbacks")


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
        self.epoch = epoch  # before the write: the file says which epoch it holds
        trainer.save_checkpoint(self.path)

    def __repr__(self):
        return f"Checkpoint({self.path!r})"


def data_setup(trainer):
    """What a checkpoint must agree on with the Trainer that resumes from it."""
    train, val = trainer.train_batches, trainer.val_batches
    return {"batch_size": getattr(train, "batch_size", None), "train_samples": getattr(train, "n_samples", None),
            "train_batches": len(train), "val_batches": None if val is None else len(val),
            "eval_train": trainer.eval_train, "optimizer": type(trainer.optimizer).__name__,
            "callbacks": sorted(callback_states(trainer.callbacks))}


def has_state(callback):
    """Whether a callback keeps state for a resume (the checkpoint file itself does not count)."""
    return type(callback).state_dict is not Callback.state_dict


def callback_states(callbacks):
    """``{name: callback}`` for the callbacks that keep state, named by class (``'EarlyStopping'``,
    a second one of a class ``'CSVLogger.2'``): a checkpoint keeps their states under these
    names, and a resume needs the same ones; callbacks without state may come and go."""
    named, seen = {}, {}
    for cb in callbacks:
        if has_state(cb):
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            named[name if seen[name] == 1 else f"{name}.{seen[name]}"] = cb
    return named


def check_state(trainer, state, source):
    """Raise a ValueError naming ``source`` if ``state`` cannot be resumed by ``trainer``."""
    missing = sorted(set(STATE_KEYS) - set(state)) if isinstance(state, dict) else "everything"
    if missing:
        raise ValueError(f"{source} is not a Trainer state: {missing} missing")
    saved, mine = state["setup"], data_setup(trainer)
    for key, value in mine.items():
        if saved.get(key) != value:
            raise ValueError(f"{source} was written with {key}={saved.get(key)!r}, but this Trainer "
                             f"has {key}={value!r}; resume with the same data and settings")
    done = state["progress"]["steps_done"]
    if done > trainer.total_steps:
        raise ValueError(f"{source} is after iteration {done} (epoch {state['progress']['epochs_done']}), "
                         f"past the end of this Trainer's run ({trainer.total_steps} iterations)")
    if done % trainer.steps_per_epoch and done != trainer.total_steps:
        raise ValueError(f"{source} ended inside a pass (iteration {done}, passes of "
                         f"{trainer.steps_per_epoch}); it cannot be continued to {trainer.total_steps} "
                         "iterations, only to its own end")
    layer_state = state.get("layer_state")
    if layer_state is not None and hasattr(trainer.model, "state"):
        mine = set(trainer.model.state())
        if set(layer_state) != mine:
            raise ValueError(f"{source} has the layers {sorted(layer_state)}, this model {sorted(mine)}")


def trainer_state(trainer):
    """The whole state of ``trainer`` (see the module docstring): JSON values and array copies."""
    model, source = trainer.model, trainer.train_batches
    return {
        "setup": data_setup(trainer),
        "progress": {"epochs_done": trainer.epochs_done, "steps_done": trainer.steps_done,
                     "elapsed": trainer._elapsed},
        "history": trainer.history.to_state(),
        "model": {k: np.array(v, copy=True) for k, v in model.state_dict().items()},
        "layer_state": model.state() if hasattr(model, "state") else None,
        "optimizer": trainer.optimizer.state_dict(),
        "train_data": source.state_dict() if hasattr(source, "state_dict") else None,
        "train_eval_index": trainer.train_eval_index,
        "callbacks": {name: cb.state_dict() for name, cb in callback_states(trainer.callbacks).items()},
    }


def apply_state(trainer, state, source):
    """Put a :func:`trainer_state` back into ``trainer``, its model, optimizer, batch source and
    callbacks (the model checks every key and shape before it changes anything)."""
    model = trainer.model
    model.load_state_dict(state["model"], source=source)
    if state["layer_state"] is not None:
        model.set_state(state["layer_state"])
    trainer.optimizer.load_state_dict(state["optimizer"], params=model.params)
    if state["train_data"] is not None:
        trainer.train_batches.load_state_dict(state["train_data"])
    index = state["train_eval_index"]
    trainer.train_eval_index = None if index is None else np.asarray(index)
    for name, cb in callback_states(trainer.callbacks).items():
        cb.load_state_dict(state["callbacks"][name])
    trainer.history = History.from_state(state["history"])
    trainer.epochs_done = int(state["progress"]["epochs_done"])
    trainer.steps_done = int(state["progress"]["steps_done"])
    for cb in trainer.callbacks:
        if isinstance(cb, Checkpoint):
            cb.epoch = trainer.epochs_done  # the epoch the file it continues holds
