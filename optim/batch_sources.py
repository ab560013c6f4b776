"""Batch sources: what the Trainer draws its mini-batches from.

A batch source is any iterable of ``(x, t)`` batches with ``len()`` (batches per pass); one
pass over it is one epoch. One that draws random numbers also has ``state_dict()`` and
``load_state_dict()``, so that a resumed run gets the batches of the run never stopped.
:class:`~bprop.datasets.MiniBatchIterator` (arrays, shuffled) and
:class:`~bprop.datasets.BPTTBatches` (a corpus as parallel streams, in order) are two.
Arrays ``(x, t)`` handed to the Trainer become a MiniBatchIterator here, checked first.
"""

import numpy as np

from bprop.datasets.batching import MiniBatchIterator
from bprop.layers.checks import check_finite, check_int

#: the batch size of an evaluation pass over arrays
EVAL_BATCH_SIZE = 1000


def check_arrays(name, x, t):
    """Arrays ``(x, t)`` checked at the door: a sample axis, equal lengths, no NaN or inf,
    with errors that name them (``x_train``, ``t_val``)."""
    kind = name.split("_")[0]
    x, t = np.asarray(x), np.asarray(t)
    if x.ndim == 0 or t.ndim == 0 or len(x) != len(t) or len(x) == 0:
        raise ValueError(f"Trainer: {name} must be two arrays of the same non-zero length, got "
                         f"len(x_{kind})={len(x) if x.ndim else 'scalar'} and "
                         f"len(t_{kind})={len(t) if t.ndim else 'scalar'}")
    check_finite("Trainer", f"x_{kind}", x)
    check_finite("Trainer", f"t_{kind}", t)
    return x, t


def batch_source(name, data, model, batch_size, shuffle, rng):
    """``data`` as a batch source: arrays ``(x, t)`` become a :class:`MiniBatchIterator`
    (shuffled with ``rng`` for training, in order and ``EVAL_BATCH_SIZE`` at a time for
    evaluation); anything else must already be one."""
    if isinstance(data, tuple) and len(data) == 2:
        x, t = check_arrays(name, *data)
        size = batch_size if shuffle else EVAL_BATCH_SIZE
        # A model that needs batches of several samples (batch norm: 2) says so; the last
        # batch of a pass is dropped when it would be smaller.
        least = getattr(model, "min_batch_size", 1)
        drop_last = shuffle and 0 < len(x) % size < least
        if drop_last and len(x) < size:
            raise ValueError(f"Trainer: {type(model).__name__} needs training batches of at least "
                             f"{least} samples, {name} has {len(x)}")
        return MiniBatchIterator(x, t, size, shuffle=shuffle, drop_last=drop_last, rng=rng)
    if not hasattr(data, "__iter__") or not hasattr(data, "__len__"):
        raise ValueError(f"Trainer: {name} must be arrays (x, t) or a batch source with __iter__ and "
                         f"__len__, got {type(data).__name__}")
    return data


def train_eval_subset(source, eval_train, rng):
    """``(eval_train, index)``: how the training data is measured after each epoch (see the
    Trainer's ``eval_train``), and the sorted indices of a fixed subset (None: all of it)."""
    arrays = isinstance(source, MiniBatchIterator) and source.shuffle
    if eval_train is None:
        eval_train = arrays
    if eval_train is False:
        return False, None
    if not arrays:
        raise ValueError("Trainer: eval_train needs train_data as arrays (x, t); a batch source "
                         "is measured on its own mini-batches (eval_train=False)")
    if eval_train is True:
        return True, None
    size = check_int("Trainer", "eval_train", eval_train, 1)
    n = source.n_samples
    return size, (None if size >= n else np.sort(rng.choice(n, size, replace=False)))
