"""Training a language model by truncated backpropagation through time.

The loop is the textbook's four steps over the windows of :class:`bprop.datasets.BPTTBatches`,
with the state carried from one window to the next and reset at the start of every epoch::

    for epoch in range(epochs):
        model.reset_state()
        for x, t in batches:                           # in order, never shuffled
            loss, grads = model.loss_and_gradient(x, t)
            clip_grads(grads, max_grad_norm)           # optional
            optimizer.update(model.params, grads)

The loss is the mean cross-entropy per predicted id in nats (natural log); perplexity is
its exponential, the number of equally likely ids the model is as unsure as. For a
character model the loss is nats per character; divided by ln 2 it is bits per character.
"""

import math
import time

from bprop.datasets.bptt import BPTTBatches
from bprop.layers.checks import check_int, check_positive

from .clip import clip_grads
from .divergence import DivergenceCheck, TrainingDivergedError
from .progress import Progress, format_lm_record


def evaluate_lm(model, ids, batch_size=32, time_size=100):
    """Mean loss per predicted id (nats) of ``model`` on the corpus ``ids``, in evaluation mode.

    The corpus is read as :class:`BPTTBatches` (``batch_size`` streams, windows of
    ``time_size``) from a zero state, the state carried across windows; every id but the
    first of each stream is predicted once. The model's carried state (and dropout
    streams) are put back afterwards, so evaluating in the middle of training changes nothing.
    """
    batches = BPTTBatches(ids, batch_size, time_size)
    saved = model.state()
    model.reset_state()
    total = 0.0
    try:
        for x, t in batches:
            total += model.loss(x, t, train=False) * x.size
    finally:
        model.set_state(saved)
    return total / batches.n_tokens


def perplexity(loss):
    """``exp(loss)`` for a loss in nats; inf when that overflows."""
    return math.exp(loss) if loss < 700 else math.inf


class LanguageModelTrainer:
    """Truncated-BPTT training of a language model (see the module docstring for the loop).

    Parameters
    ----------
    model : an :class:`bprop.networks.RnnLM`, or anything with ``params``,
        ``loss_and_gradient(x, t)``, ``loss(x, t, train)``, ``reset_state()`` and
        ``state()`` / ``set_state()``.
    optimizer : any bprop optimizer (``update(params, grads)``).
    train_ids : (L,) int ids of the training corpus.
    val_ids : (L',) int ids, evaluated after every epoch (:func:`evaluate_lm`), or None.
    batch_size : streams read side by side (default 32).
    time_size : steps per window, how far back the gradient flows (default 50).
    epochs : int >= 1.
    max_grad_norm : float > 0 or None (default): clip the gradients to this global L2
        norm before every update (:func:`bprop.optim.clip_grads`), against the exploding
        gradients of long sequences.
    lr_schedule : None or a callable ``epoch -> lr`` (epoch from 0), e.g.
        :class:`bprop.optim.ExponentialDecay`; sets ``optimizer.lr`` before every epoch.
    eval_batch_size, eval_time_size : the windows of the validation pass (default: 64 and
        100; larger windows evaluate faster and the state carries over anyway).
    verbose : 0 silent; 1 (default, as the Trainer's) a progress bar over each epoch's
        windows with the running loss on a terminal, replaced by the epoch's line when the
        epoch (validation included) ends, and just that line when stderr is not a terminal;
        2 one line per epoch (for log files).
        The line (:func:`bprop.optim.progress.format_lm_record`) gives the training and
        validation loss with their perplexities, the gradient norm and the fraction clipped,
        the learning rate and the epoch's seconds.
    callbacks : callables ``f(trainer, record)`` run after every epoch; one that sets
        ``trainer.stop_training = True`` ends :meth:`fit` there (Keras's convention), e.g. to
        keep within a time budget.

    Attributes
    ----------
    history : dict of lists, one entry per completed epoch: ``epoch``, ``train_loss`` (the
        mean of the epoch's window losses, weighted by their length: nats per id, with
        dropout on), ``train_perplexity``, ``val_loss``, ``val_perplexity`` (None without
        ``val_ids``), ``grad_norm`` (mean global norm before clipping), ``clipped`` (the
        fraction of windows clipped), ``lr``, ``time`` (seconds); and ``iter_loss``, the
        loss of every window. Current during :meth:`fit`: a caller that catches
        ``KeyboardInterrupt`` finds the completed epochs there.
    epochs_done : int.
    """

    def __init__(self, model, optimizer, train_ids, val_ids=None, *, batch_size=32, time_size=50,
                 epochs=10, max_grad_norm=None, lr_schedule=None, eval_batch_size=64, eval_time_size=100,
                 verbose=1, callbacks=()):
        owner = type(self).__name__
        self.model = model
        self.optimizer = optimizer
        self.batches = BPTTBatches(train_ids, batch_size, time_size)
        self.val_ids = val_ids
        self.eval_batch_size = check_int(owner, "eval_batch_size", eval_batch_size)
        self.eval_time_size = check_int(owner, "eval_time_size", eval_time_size)
        if val_ids is not None:
            BPTTBatches(val_ids, self.eval_batch_size, self.eval_time_size)  # checks it now, not after an epoch
        self.epochs = check_int(owner, "epochs", epochs)
        self.max_grad_norm = check_positive(owner, "max_grad_norm", max_grad_norm, allow_none=True)
        self.lr_schedule = lr_schedule
        self.progress = Progress(verbose, format_line=format_lm_record, unit="window",
                                 owner=owner)
        self.callbacks = tuple(callbacks)
        self.divergence = DivergenceCheck()
        self.history = {key: [] for key in ("epoch", "train_loss", "train_perplexity", "val_loss",
                                            "val_perplexity", "grad_norm", "clipped", "lr", "time",
                                            "iter_loss")}
        self.epochs_done = 0
        self.stop_training = False

    def fit(self):
        """Train for the remaining epochs (or until a callback stops it); return :attr:`history`."""
        self.stop_training = False
        while self.epochs_done < self.epochs and not self.stop_training:
            record = self.train_epoch()
            self.history["iter_loss"].extend(record.pop("iter_loss"))
            for key, value in record.items():
                self.history[key].append(value)
            self.epochs_done += 1
            self.progress.end_epoch(record, self.epochs)
            for callback in self.callbacks:
                callback(self, record)
        return self.history

    def train_epoch(self):
        """One pass over the training streams from a zero state; returns the epoch's record."""
        epoch = self.epochs_done
        start = time.perf_counter()
        if self.lr_schedule is not None:
            self.optimizer.lr = self.lr_schedule(epoch)
        self.model.reset_state()
        self.progress.start_epoch(epoch + 1, self.epochs, len(self.batches))
        total = norm_sum = 0.0
        clipped = 0
        losses = []  # the history gets them once the epoch is complete
        try:
            for i, (x, t) in enumerate(self.batches):
                loss, grads = self.model.loss_and_gradient(x, t)
                losses.append(loss)
                if self.divergence.diverged(loss):
                    history = dict(self.history, iter_loss=self.history["iter_loss"] + losses)
                    raise TrainingDivergedError(epoch + 1, i + 1, len(history["iter_loss"]), loss,
                                                getattr(self.optimizer, "lr", None), history)
                if self.max_grad_norm is not None:
                    norm = clip_grads(grads, self.max_grad_norm)
                    clipped += norm > self.max_grad_norm
                    norm_sum += norm
                self.optimizer.update(self.model.params, grads)
                total += loss * x.size
                self.progress.step(loss)
            val_loss = None
            if self.val_ids is not None:
                val_loss = evaluate_lm(self.model, self.val_ids, self.eval_batch_size, self.eval_time_size)
        except BaseException:
            # On success the bar stays through the validation pass, until the epoch's line
            # replaces it (Progress.end_epoch).
            self.progress.close()
            raise
        n = len(self.batches)
        train_loss = total / self.batches.n_tokens
        return {
            "epoch": epoch + 1,
            "train_loss": train_loss, "train_perplexity": perplexity(train_loss),
            "val_loss": val_loss, "val_perplexity": None if val_loss is None else perplexity(val_loss),
            "grad_norm": norm_sum / n if self.max_grad_norm is not None else None,
            "clipped": clipped / n if self.max_grad_norm is not None else None,
            "lr": getattr(self.optimizer, "lr", None),
            "time": time.perf_counter() - start,
            "iter_loss": losses,
        }
