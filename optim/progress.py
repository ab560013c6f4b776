"""What the training loop shows while it runs: the only place in the library that prints.

``verbose`` 0 shows nothing; 1 a tqdm progress bar with the running loss during each
epoch on a terminal, replaced by the epoch's line when it ends (and just that line when
stderr is not a terminal); 2 one line per epoch, which is what a log file wants.
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


class Progress:
    """Progress of a training run, shown as ``verbose`` asks.

    The loop calls :meth:`start_epoch`, :meth:`step` after every update,
    :meth:`end_epoch` with the epoch's record, :meth:`say` for anything else worth a line
    (a resume, an early stop) and :meth:`close` if the epoch ends by an exception.
    """

    def __init__(self, verbose=1):
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"Trainer: verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self._bar = None
        self._done = 0
        self._loss_sum = 0.0

    def start_epoch(self, epoch, n_epochs, steps):
        self._done, self._loss_sum = 0, 0.0
        if self.verbose != 1:
            return
        # disable=None: tqdm turns itself off when stderr is not a terminal. The size comes
        # from shutil, which falls back to 80x24 where a terminal reports 0x0 (tqdm would
        # then draw nothing).
        size = shutil.get_terminal_size()
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{n_epochs}", unit="batch", disable=None,
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
            self.say(format_record(record, n_epochs))

    def say(self, line):
        if self.verbose == 1:
            tqdm.write(line, file=sys.stdout)
        elif self.verbose == 2:
            print(line, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
