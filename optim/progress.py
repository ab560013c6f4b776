"""What the training loops show while they run: the only place in the library that prints.

``verbose`` 0 shows nothing; 1 a tqdm progress bar with the running loss during each
epoch on a terminal, replaced by the epoch's line when it ends (and just that line when
stderr is not a terminal: a log file gets one line per epoch); 2 one line per epoch, which
is what a log file wants. The line is the loop's own: :func:`format_record` for the
classifier's :class:`Trainer`, :func:`format_lm_record` for the language model's.
"""

import shutil
import sys

from tqdm import tqdm


def format_record(record, n_epochs):
    """One epoch's line: ``epoch 3/10  loss 0.1234  acc 0.9650  val_loss ...  lr 0.001  12.3s``."""
    parts = [f"epoch {record['epoch']}/{n_epochs}",
             f"loss {record['train_loss']:.4f}", f"acc {record['train_acc']:.4f}"]
    if "val_loss" in record:
        parts += [f"val_loss {record['val_loss']:.4f}", f"val_acc {record['val_acc']:.4f}"]
    if record["lr"] is not None:
        parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record['time']:.1f}s")
    return "  ".join(parts)


def format_lm_record(record, n_epochs):
    """A language model's epoch line: the losses in nats per id with their perplexities,
    the gradient norm when clipping, the learning rate and the epoch's seconds::

        epoch 3/10  loss 1.6012 (ppl 4.96)  val_loss 1.7421 (ppl 5.71)  grad_norm 0.84 (12% clipped)  lr 0.00128  41.2s
    """
    parts = [f"epoch {record['epoch']}/{n_epochs}",
             f"loss {record['train_loss']:.4f} (ppl {record['train_perplexity']:.2f})"]
    if record.get("val_loss") is not None:
        parts.append(f"val_loss {record['val_loss']:.4f} (ppl {record['val_perplexity']:.2f})")
    if record.get("grad_norm") is not None:
        parts.append(f"grad_norm {record['grad_norm']:.2f} ({record['clipped']:.0%} clipped)")
    if record.get("lr") is not None:
        parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record['time']:.1f}s")
    return "  ".join(parts)


class Progress:
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
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"{owner}: verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self.format_line = format_line
        self.unit = unit
        self._bar = None
        self._done = 0
        self._loss_sum = 0.0

    def start_epoch(self, epoch, n_epochs, steps):
        self.close()  # a bar an earlier epoch left open
        self._done, self._loss_sum = 0, 0.0
        if self.verbose != 1:
            return
        # disable=None: tqdm turns itself off when stderr is not a terminal. The size comes
        # from shutil, which falls back to 80x24 where a terminal reports 0x0 (tqdm would
        # then draw nothing).
        size = shutil.get_terminal_size()
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{n_epochs}", unit=self.unit, disable=None,
                   leave=False, ncols=size.columns, nrows=size.lines)
        if bar.disable:
            bar.close()
        else:
            self._bar = bar

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

    def say(self, line):
        if self.verbose == 1:
            # tqdm.write keeps the line clear of a bar on the same terminal but does not flush,
            # and a stdout redirected to a file is block-buffered: without the flush a log
            # would get its lines only when the process ends.
            tqdm.write(line, file=sys.stdout)
            sys.stdout.flush()
        elif self.verbose == 2:
            print(line, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
