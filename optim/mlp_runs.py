"""The data of a training run, from its configuration (see :mod:`optim.runs`).

A classifier's data (:func:`load_run_data`) depends only on the keys of
:data:`CLASSIFIER_DATA_DEFAULTS`: ``data_seed`` picks the subsets (the same images for
every run of a sweep). A language model reads its text in order (:func:`load_run_corpus`):
nothing in its data is random. Each worker process loads a dataset once and shares it,
read-only, between its runs.
"""

import functools

import numpy as np

from bprop.datasets import load_dataset, load_tiny_shakespeare, make_spiral, random_subset, train_val_split
from bprop.layers import make_rng

#: the data keys of every classifier, with their defaults (read by :func:`load_run_data`)
CLASSIFIER_DATA_DEFAULTS = {
    "dataset": "mnist",       # 'mnist' | 'fashion-mnist' (| 'spiral', 3 arms in 2-D, for the MLP)
    "train_size": None,       # training samples, a random subset (None: all; spiral: 300)
    "test_size": None,        # test samples, a random subset (None: all; spiral: 300; 0: no
                              # test set, nothing evaluated on it)
    "val_fraction": None,     # None: evaluate on the test set after each epoch; a fraction in
                              # (0, 1): hold that much of the training samples out instead
    "data_seed": 0,
    "dtype": "float32",
}


@functools.lru_cache(maxsize=2)
def _full_dataset(name, dtype):
    # Loaded and converted once per worker process, shared by its runs (read-only).
    (x_train, t_train), (x_test, t_test) = load_dataset(name, dtype=dtype)
    for array in (x_train, t_train, x_test, t_test):
        array.setflags(write=False)
    return (x_train, t_train), (x_test, t_test)


@functools.lru_cache(maxsize=1)
def load_run_corpus(name):
    # Read once per worker process, shared by its runs (read-only).
    corpus = load_tiny_shakespeare(verbose=0)
    for array in (corpus.ids, corpus.train, corpus.val):
        array.setflags(write=False)
    return corpus


def load_run_data(config, rng=None):
    """``((x_train, t_train), (x_val, t_val), (x_test, t_test))`` of a classifier's configuration.

    ``(x_val, t_val)`` is the test set when ``val_fraction`` is None; the test set is None
    when ``test_size`` is 0 (and then so is the validation set, without ``val_fraction``).
    Depends only on ``dataset``, ``train_size``, ``test_size``, ``val_fraction``,
    ``data_seed``, ``dtype`` (the keys of :data:`CLASSIFIER_DATA_DEFAULTS`). Images are
    flat rows ``(N, 784)``; the conv nets take them as ``(N, 1, 28, 28)``.

    Parameters
    ----------
    config : a configuration (any keys of :data:`CLASSIFIER_DATA_DEFAULTS`; others are not read).
    rng : None, or a ``np.random.Generator`` seeded with ``data_seed`` to draw the subsets
        from; it is left where the draws leave it, for a caller that goes on drawing from
        it (the random search of ``scripts/hyperparameter_search.py`` does).
    """
    config = dict(CLASSIFIER_DATA_DEFAULTS, **config)
    rng = make_rng(config["data_seed"] if rng is None else rng)
    dtype = np.dtype(config["dtype"])
    n_test = config["test_size"]
    test = None
    spiral = config["dataset"] == "spiral"
    if spiral:
        n_train = config["train_size"] or 300
        x, t = make_spiral(-(-n_train // 3), rng=rng)
        train = random_subset(x.astype(dtype), t, n_train, rng)
        if n_test != 0:
            n_test = 300 if n_test is None else n_test
            x, t = make_spiral(-(-n_test // 3), rng=rng)
            test = random_subset(x.astype(dtype), t, n_test, rng)
    else:
        train, full_test = _full_dataset(config["dataset"], dtype)
        train = random_subset(*train, config["train_size"], rng)
    val = None
    if config["val_fraction"] is not None:
        train, val = train_val_split(*train, config["val_fraction"], rng=rng)
    if not spiral and n_test != 0:  # drawn after the training subset and split, as the scripts do
        test = random_subset(*full_test, n_test, rng)
    return train, (val if val is not None else test), test

