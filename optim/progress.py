"""What the training loops show while they run: the only place in the library that prints.

``verbose`` 0 shows nothing; 1 a tqdm progress bar with the running loss during each
epoch on a terminal, replaced by the epoch's line when it ends (and just that line when
stderr is not a terminal: a log file gets one line per epoch); 2 one line per epoch, which
is what a log file wants. :class:`ProgressBar` is the Trainer's callback that shows it.

A sweep (:func:`~bprop.optim.sweep.run_sweep`) shows its runs the same way
(:class:`SweepProgress`): 1 a bar over the runs on a terminal, else a line per finished
run, as 2 always writes. Both build on :class:`Display`, the bar and the lines.
"""

import shutil
import sys

from tqdm import tqdm

from .callbacks import Callback


#: how a key of the logs is shown: its label, and its format
_SHOWN = {"train_loss": ("loss", ".4f"), "train_acc": ("acc", ".4f"), "grad_norm": ("grad_norm", ".2f"),
          "clipped": ("clipped", ".0%"), "lr": ("lr", ".3g")}


def format_record(record, n_epochs):
    """One epoch's line, every logged value in order, ``train_`` left out of the names::

        epoch 3/10  loss 0.1234  acc 0.9650  val_loss 0.1400  val_acc 0.9600  lr 0.001  12.3s
        epoch 3/10  loss 1.6012  perplexity 4.96  val_loss 1.7421  val_perplexity 5.71  grad_norm 0.84  clipped 12%  lr 0.00128  41.2s
    """
    parts = [f"epoch {record['epoch']}/{n_epochs}"]
    for key, value in record.items():
        if key in ("epoch", "iteration", "time") or value is None:
            continue
        label, spec = _SHOWN.get(key, (key[len("train_"):] if key.startswith("train_") else key,
                                       ".2f" if key.endswith("perplexity") else ".4f"))
        parts.append(f"{label} {value:{spec}}" if isinstance(value, (int, float)) else f"{label} {value}")
    parts.append(f"{record['time']:.1f}s")
    return "  ".join(parts)


class Display:
    """What a loop shows, as ``verbose`` asks: a bar (1, on a terminal) and lines (1 and 2).

    Parameters
    ----------
    verbose : 0, 1 or 2 (see the module docstring).
    owner : the name of the loop, for the error message of a bad ``verbose``.
    """

    def __init__(self, verbose, owner):
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"{owner}: verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self._bar = None

    def open_bar(self, total, desc, unit, leave):
        """Show a bar of ``total`` steps on stderr, if stderr is a terminal."""
        # disable=None: tqdm turns itself off when stderr is not a terminal. The size comes
        # from shutil, which falls back to 80x24 where a terminal reports 0x0 (tqdm would
        # then draw nothing).
        size = shutil.get_terminal_size()
        bar = tqdm(total=total, desc=desc, unit=unit, disable=None, leave=leave, ncols=size.columns,
                   nrows=size.lines)
        if bar.disable:
            bar.close()
        else:
            self._bar = bar

    def say(self, line):
        """Write ``line`` to stdout (verbose 1 or 2), clear of the bar."""
        if self.verbose == 1:
            # tqdm.write keeps the line clear of a bar on the same terminal but does not flush,
            # and a stdout redirected to a file is block-buffered: without the flush a log
            # would get its lines only when the process ends.
            tqdm.write(line, file=sys.stdout)
            sys.stdout.flush()
        elif self.verbose == 2:
            print(line, flush=True)

    def close(self):
        """Close the bar, if one is shown."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Progress(Display):
    """Progress of a training run, shown as ``verbose`` asks.

    The loop calls :meth:`start_epoch`, :meth:`step` after every update,
    :meth:`end_epoch` with the epoch's record, :meth:`say` for anything else worth a line
    (a resume, an early stop) and :meth:`close` if the epoch ends by an exception.

    Parameters
    ----------
    verbose : 0, 1 or 2 (see the module docstring).
    format_line : callable ``(record, n_epochs) -> str``, the epoch's line (default
        :func:`format_record`, the classifier's).
    unit : what one step of the bar is called (default "batch").
    owner : the name of the loop, for the error message of a bad ``verbose``.
    """

    def __init__(self, verbose=1, *, format_line=format_record, unit="batch", owner="Trainer"):
        super().__init__(verbose, owner)
        self.format_line = format_line
        self.unit = unit
        self._done = 0
        self._loss_sum = 0.0

    def start_epoch(self, epoch, n_epochs, steps):
        self.close()  # a bar an earlier epoch left open
        self._done, self._loss_sum = 0, 0.0
        if self.verbose == 1:
            self.open_bar(steps, f"epoch {epoch}/{n_epochs}", self.unit, leave=False)

    def step(self, loss):
        self._done += 1
        self._loss_sum += loss
        bar = self._bar
        if bar is not None and (self._done % 10 == 0 or self._done == bar.total):
            bar.set_postfix_str(f"loss {self._loss_sum / self._done:.4f}", refresh=False)
            bar.update(self._done - bar.n)

    def end_epoch(self, record, n_epochs):
        self.close()  # the bar vanishes (leave=False); the epoch's line stays
        if self.verbose:
            self.say(self.format_line(record, n_epochs))


class ProgressBar(Callback):
    """The Trainer's display (see the module docstring), as a callback: a bar during each
    epoch, the epoch's line (:func:`format_record`) at its end, and a line when a run
    resumes or a callback stops it. The Trainer adds one, from its ``verbose``."""

    def __init__(self, verbose=1):
        self.progress = Progress(verbose)

    def on_fit_begin(self, trainer):
        # what one step of the bar is: the batch source may say ("window" for BPTT)
        self.progress.unit = getattr(trainer.train_batches, "unit", "batch")
        if trainer.epochs_done:
            self.progress.say(f"resuming from {trainer.resumed_from} after epoch {trainer.epochs_done} "
                              f"({trainer.steps_done} iterations)")

    def on_epoch_begin(self, trainer, epoch):
        steps = min(trainer.steps_per_epoch, trainer.total_steps - trainer.steps_done)
        self.progress.start_epoch(epoch, trainer.n_epochs, steps)

    def on_batch_end(self, trainer, step, loss):
        self.progress.step(float(loss))

    def on_epoch_end(self, trainer, epoch, logs):
        self.progress.end_epoch(logs, trainer.n_epochs)
        history = trainer.history
        if trainer.stop_training:
            line = f"stopped after epoch {epoch}"
            if history["best_epoch"] is not None:
                line += f"; best {history['monitor']} {history['best_score']:.4f} at epoch {history['best_epoch']}"
            self.progress.say(line)

    def on_fit_end(self, trainer):
        self.progress.close()

    def __repr__(self):
        return f"ProgressBar(verbose={self.progress.verbose})"


def format_run(record, finished, total):
    """A finished run's line: its place, status, key and seed, then its metrics (or the first
    line of its error), its time and its worker::

        run 3/12 done   5f2c0e1a9b3d4c77 seed 2  train_loss 0.1234  test_acc 0.965  12.3s on host:4242
    """
    what = ("  ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items() if isinstance(v, (int, float)))
            if record["status"] == "done" else record["error"].splitlines()[0][:120])
    wall = f"{record['wall_time']:.1f}s" if record["wall_time"] is not None else "-"
    return (f"run {finished}/{total} {record['status']:<6} {record['key']} seed "
            f"{record['seed']}  {what}  {wall} on {record['worker']}")


class SweepProgress(Display):
    """Progress of a sweep over ``total`` runs: with ``verbose`` 1, a bar over the runs (done,
    failed, running) on a terminal, else the line of each finished run (:func:`format_run`),
    as 2 always writes."""

    def __init__(self, total, verbose):
        super().__init__(verbose, "run_sweep")
        self.total = total
        self.done = self.failed = 0
        if verbose == 1:
            self.open_bar(total, "sweep", "run", leave=True)

    @property
    def finished(self):
        """Runs finished so far, done or failed."""
        return self.done + self.failed

    def show(self, running, refresh=True):
        """The counts beside the bar, ``running`` the runs on the workers now."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"done {self.done}, failed {self.failed}, running {running}",
                                      refresh=refresh)

    def finished_run(self, record, running):
        """Count a run's record (as the store keeps it): a step of the bar, or its line."""
        if record["status"] == "done":
            self.done += 1
        else:
            self.failed += 1
        if self._bar is not None:
            self.show(running, refresh=False)
            self._bar.update(1)
        elif self.verbose:
            self.say(format_run(record, self.finished, self.total))
