"""Metrics: what the Trainer measures on the training and validation data after each epoch.

A metric accumulates over the batches of one evaluation pass, in inference mode (no dropout,
batch norm on its running statistics), and gives one number at the end::

    metric.reset()
    for x, t in batches:
        loss = model.loss(x, t, train=False)       # one forward pass per batch
        metric.update(model, x, t, loss)
    value = metric.result()

Its ``key`` names it in the history, after the data's prefix: ``'val_loss'``,
``'train_acc'``, ``'val_perplexity'``. Pick metrics by name (:data:`METRICS`) or as
objects; a model says which it is evaluated with by default (``model.default_metrics``:
loss and accuracy for a classifier, loss and perplexity for a language model, loss and
whole-sequence accuracy for seq2seq).

Every average is over the model's *predictions*: ``model.n_predictions(x, t)`` is how many
targets a batch's mean loss averages over (samples for a classifier, ids for a language
model or a decoder), so the epoch's value is the mean over every prediction, whatever the
batch sizes.
"""

import math

import numpy as np

from bprop.layers.registry import Registry

__all__ = ["Metric", "Loss", "Accuracy", "BinaryAccuracy", "Perplexity", "NatsPerToken", "SequenceAccuracy",
           "MeanSquaredError", "METRICS", "get_metric", "n_predictions"]


def n_predictions(model, x, t):
    """How many predictions one batch's mean loss averages over (``len(x)`` by default)."""
    count = getattr(model, "n_predictions", None)
    return len(x) if count is None else count(x, t)


class Metric:
    """Base class: a number accumulated over batches. Subclasses set ``key`` and ``mode``
    ('min' when lower is better, 'max' when higher is) and define the three methods."""

    key = None
    mode = "min"

    def reset(self):
        """Forget the batches seen: a new evaluation pass starts."""
        raise NotImplementedError

    def update(self, model, x, t, loss):
        """Take one batch: its inputs, targets, and the mean ``loss`` the model just computed
        on it in inference mode (the model's layers still hold that forward pass)."""
        raise NotImplementedError

    def result(self):
        """The value over every batch since :meth:`reset`."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Loss(Metric):
    """The model's loss (weight decay included, as ``model.loss`` computes it), averaged
    over every prediction."""

    key = "loss"

    def reset(self):
        self.total, self.count = 0.0, 0

    def update(self, model, x, t, loss):
        n = n_predictions(model, x, t)
        self.total += float(loss) * n
        self.count += n

    def result(self):
        return self.total / self.count


class NatsPerToken(Loss):
    """The loss of a language model in nats per predicted id, under its own name; divided
    by ln 2 it is bits per character."""

    key = "nats"


class Perplexity(Loss):
    """``exp(loss)``: the number of equally likely ids the model is as unsure as (inf when
    that overflows)."""

    key = "perplexity"

    def result(self):
        loss = super().result()
        return math.exp(loss) if loss < 700 else math.inf


class Accuracy(Metric):
    """Fraction of samples whose largest score is the true class; ``t`` holds labels (N,)
    or one-hot rows (N, C). The scores are those of the forward pass the loss was computed
    with (``model.scores()``), so no second pass is made."""

    key = "acc"
    mode = "max"

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, model, x, t, loss):
        predicted = np.argmax(model.scores(), axis=-1)
        labels = t if t.ndim == predicted.ndim else np.argmax(t, axis=-1)
        self.correct += int(np.count_nonzero(predicted == labels))
        self.count += labels.size

    def result(self):
        return self.correct / self.count


class BinaryAccuracy(Metric):
    """Fraction of yes/no outputs on the right side: a logit > 0 (``sigmoid > 0.5``) where
    the target is > 0.5, a logit <= 0 where it is not, over every output element; for a
    network ending in :class:`~bprop.layers.sigmoid_loss.SigmoidWithLoss`, whose scores
    (``model.scores()``) are logits. ``t`` holds 0/1 labels or probabilities of their shape
    (or (N,) for scores (N, 1))."""

    key = "binary_acc"
    mode = "max"

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, model, x, t, loss):
        predicted = model.scores() > 0
        labels = np.asarray(t).reshape(predicted.shape) > 0.5
        self.correct += int(np.count_nonzero(predicted == labels))
        self.count += labels.size

    def result(self):
        return self.correct / self.count


class SequenceAccuracy(Metric):
    """Fraction of sequences whose whole output a seq2seq model generates right, greedily
    from the start id ``t[:, 0]`` (``model.generate``); one more pass per batch."""

    key = "seq_acc"
    mode = "max"

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, model, x, t, loss):
        guess = model.generate(x, int(t[0, 0]), t.shape[1] - 1)
        self.correct += int(np.count_nonzero(np.all(guess == t[:, 1:], axis=1)))
        self.count += len(t)

    def result(self):
        return self.correct / self.count


class MeanSquaredError(Metric):
    """Mean of ``(y - t)**2`` over every output element, for regression (``model.scores()``
    are the outputs ``y``)."""

    key = "mse"

    def reset(self):
        self.total, self.count = 0.0, 0

    def update(self, model, x, t, loss):
        y = model.scores()
        diff = y.astype(np.float64) - np.asarray(t, dtype=np.float64).reshape(y.shape)
        self.total += float(np.vdot(diff, diff))
        self.count += diff.size

    def result(self):
        return self.total / self.count


#: metrics by name
METRICS = Registry("metric", {"loss": Loss, "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
                               "perplexity": Perplexity, "nats": NatsPerToken,
                               "sequence_accuracy": SequenceAccuracy, "mse": MeanSquaredError},
                   hint="or pass a Metric")


def get_metric(metric):
    """A :class:`Metric` from its name in :data:`METRICS`, or the object itself."""
    if isinstance(metric, Metric):
        return metric
    return METRICS.lookup(metric, owner="Trainer")()
