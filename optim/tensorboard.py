"""TensorBoard: each epoch's logs as TensorBoard scalars, as a Trainer callback.

The event files survive a kill: what the callback writes for an epoch is on disk before
the Trainer writes that epoch's checkpoint (the checkpoint callback comes last), and a run
resumed from the checkpoint of epoch ``k`` tells TensorBoard to discard the events from
epoch ``k + 1`` on. The resumed run thus leaves the record of a run never interrupted.
"""

import numbers
import os
import time

import numpy as np

from bprop.layers.checks import check_int

from .callbacks import Callback
from .paths import check_path

__all__ = ["TensorBoard", "tensorboard_tag"]


def tensorboard_tag(key):
    """The TensorBoard tag of a key of the logs: ``'train_<name>'`` -> ``'<name>/train'``,
    ``'val_<name>'`` -> ``'<name>/val'``, any other key as it is (``'lr'``, ``'grad_norm'``,
    ``'time'``). TensorBoard groups the tags by what comes before the ``/``, so
    ``loss/train`` and ``loss/val`` sit side by side in the section ``loss``."""
    for prefix, run in (("train_", "train"), ("val_", "val")):
        if key.startswith(prefix) and len(key) > len(prefix):
            return f"{key[len(prefix):]}/{run}"
    return key


def _import_tensorboardx():
    """The parts of tensorboardX the event files are written with."""
    try:
        import tensorboardX  # noqa: F401  (the package first, even where its modules are loaded)
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog
        from tensorboardX.proto.summary_pb2 import Summary
    except ImportError as error:
        raise ImportError('TensorBoard needs tensorboardX: pip install "bprop[tensorboard]" '
                          '(or pip install tensorboardX)') from error
    return EventsWriter, Event, SessionLog, Summary


class _EventFile:
    """One event file of TensorBoard, written synchronously: a scalar is in the file's
    buffer when :meth:`scalar` returns, and on disk (fsynced) when :meth:`flush` does."""

    def __init__(self, tbx, folder, first_step, suffix):
        self._events_writer, self._event, session_log, self._summary = tbx
        os.makedirs(folder, exist_ok=True)
        self._writer = self._events_writer(os.path.join(folder, "events"), suffix)
        # What SummaryWriter(purge_step=first_step) writes: on reading this event, TensorBoard
        # discards every event of this folder's earlier files at step >= first_step.
        self._writer.write_event(self._event(wall_time=time.time(), step=first_step,
                                             session_log=session_log(status=session_log.START)))

    def scalar(self, tag, value, step):
        value = self._summary.Value(tag=tag, simple_value=float(value))
        self._writer.write_event(self._event(wall_time=time.time(), step=int(step),
                                             summary=self._summary(value=[value])))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()


class TensorBoard(Callback):
    """Write each epoch's logs as TensorBoard scalars, and optionally the mini-batch loss.

    Open with ``tensorboard --logdir LOG_DIR``. Needs tensorboardX
    (``pip install "bprop[tensorboard]"``), imported when the callback is built.

    * Per epoch, at global step = ``epoch``, every numeric value of the logs under the tag
      :func:`tensorboard_tag` gives it: ``train_loss`` -> ``loss/train``, ``val_acc`` ->
      ``acc/val``, ``lr``, ``grad_norm``, ``time`` as they are. ``'epoch'`` and
      ``'iteration'`` (the x-axes) are not written, nor None, strings or bools.
    * With ``every_n_steps = n``, the loss of every ``n``-th update under the tag
      ``loss/batch`` at global step = the updates done, in the folder ``LOG_DIR/batch``
      (a second run in TensorBoard: its steps count updates, not epochs).

    Each run writes new event files, named after the epoch it starts from so that they sort
    after those of the run it resumes. Their first event tells TensorBoard to discard the
    earlier files' events from that step on (what ``SummaryWriter(purge_step=...)`` writes):
    a run resumed after epoch ``k`` (``trainer.epochs_done == k``, ``steps_done == s``)
    hides the killed run's epochs after ``k`` and updates after ``s``, and a fresh run hides
    every earlier run in ``log_dir``. Nothing is deleted.

    The events are written synchronously with tensorboardX's ``EventsWriter`` and fsynced
    at the end of every epoch, before the Trainer's checkpoint. tensorboardX's
    ``SummaryWriter`` hands events to a background thread, and its ``flush()`` does not wait
    for that thread: a run killed after ``flush()`` would lose events its checkpoint counts
    as written, which a resumed run never writes again.

    Parameters
    ----------
    log_dir : str or os.PathLike, the folder of the event files (created if missing).
    every_n_steps : None (default, epochs only) or int >= 1.
    """

    def __init__(self, log_dir, every_n_steps=None):
        self.log_dir = check_path("TensorBoard", "log_dir", log_dir)
        if os.path.isfile(self.log_dir):
            raise ValueError(f"TensorBoard: log_dir must be a folder, got the file {self.log_dir!r}")
        self.every_n_steps = check_int("TensorBoard", "every_n_steps", every_n_steps, 1, allow_none=True)
        self._tbx = _import_tensorboardx()
        self._epochs = self._batches = None

    def on_fit_begin(self, trainer):
        self.close()
        epochs_done, steps_done = int(trainer.epochs_done), int(trainer.steps_done)
        suffix = f".from-epoch-{epochs_done + 1:06d}"
        self._epochs = _EventFile(self._tbx, self.log_dir, epochs_done + 1, suffix)
        if self.every_n_steps is not None:
            self._batches = _EventFile(self._tbx, os.path.join(self.log_dir, "batch"), steps_done + 1, suffix)

    def on_batch_end(self, trainer, step, loss):
        if self._batches is not None and step % self.every_n_steps == 0:
            self._batches.scalar("loss/batch", loss, step)

    def on_epoch_end(self, trainer, epoch, logs):
        if self._epochs is None:
            raise RuntimeError("TensorBoard: on_epoch_end before on_fit_begin (no event file is open)")
        for key, value in logs.items():
            if isinstance(value, np.ndarray) and value.ndim == 0:
                value = value.item()
            if key in ("epoch", "iteration") or isinstance(value, (bool, np.bool_)) \
                    or not isinstance(value, numbers.Real):
                continue
            self._epochs.scalar(tensorboard_tag(key), value, epoch)
        for events in (self._epochs, self._batches):
            if events is not None:
                events.flush()

    def on_fit_end(self, trainer):
        self.close()

    def close(self):
        """Flush and close the event files (the Trainer does it at ``on_fit_end``)."""
        for events in (self._epochs, self._batches):
            if events is not None:
                events.close()
        self._epochs = self._batches = None

    def __repr__(self):
        return f"TensorBoard(log_dir={self.log_dir!r}, every_n_steps={self.every_n_steps!r})"
