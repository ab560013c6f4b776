"""One training run of a :class:`networks.MultiLayerNet` from a configuration dict.

:func:`train_mlp` is a run function for :func:`optim.sweep.run_sweep`: it lives in the
installed package, so a Dask worker on another machine can import it, and it depends only
on its configuration. :func:`mlp_config` writes a configuration out in full, so that the
key a sweep stores it under covers every setting (a default changed later cannot make an
old result look like a new one).

Randomness, as in the experiment scripts: ``data_seed`` picks the subsets (the same
images for every run of a sweep), ``seed`` the initial weights (``rng=seed``) and
``seed + 1000`` the order of the mini-batches.
"""

import functools

import numpy as np

from bprop.datasets import MiniBatchIterator, load_dataset, make_spiral, random_subset, train_val_split
from bprop.layers import make_rng
from bprop.networks import MultiLayerNet

from .optimizers import get_optimizer
from .trainer import EVAL_BATCH_SIZE, Trainer

#: every key of a configuration, with its default (``seed`` has none)
MLP_DEFAULTS = {
    "dataset": "mnist",       # 'mnist' | 'fashion-mnist' | 'spiral' (3 arms, 2-D)
    "train_size": None,       # training samples, a random subset (None: all; spiral: 300)
    "test_size": None,        # test samples, a random subset (None: all; spiral: 300; 0: no
                              # test set, nothing evaluated on it)
    "val_fraction": None,     # None: evaluate on the test set after each epoch; a fraction in
                              # (0, 1): hold that much of the training samples out instead
    "data_seed": 0,
    "hidden": [100],          # hidden layer widths
    "activation": "relu",
    "weight_init": "he",
    "optimizer": "sgd",
    "lr": 0.1,
    "weight_decay": 0.0,
    "batch_size": 100,
    "epochs": 5,
    "iterations": None,       # an exact number of updates instead of epochs
    "train_eval_size": None,  # training samples evaluated after each epoch (None: all)
    "dtype": "float32",
}


def mlp_config(seed, **settings):
    """A complete configuration for :func:`train_mlp`: :data:`MLP_DEFAULTS` with ``settings``.

    >>> mlp_config(0, optimizer="adam", lr=1e-3)["hidden"]
    [100]
    """
    unknown = sorted(set(settings) - set(MLP_DEFAULTS))
    if unknown:
        raise ValueError(f"mlp_config: unknown settings {unknown}; the settings are {sorted(MLP_DEFAULTS)}")
    config = dict(MLP_DEFAULTS, **settings)
    config["hidden"] = list(config["hidden"])
    config["seed"] = seed
    return config


@functools.lru_cache(maxsize=2)
def _full_dataset(name, dtype):
    # Loaded and converted once per worker process, shared by its runs (read-only).
    (x_train, t_train), (x_test, t_test) = load_dataset(name, dtype=dtype)
    for array in (x_train, t_train, x_test, t_test):
        array.setflags(write=False)
    return (x_train, t_train), (x_test, t_test)


def load_run_data(config, rng=None):
    """``((x_train, t_train), (x_val, t_val), (x_test, t_test))`` of a configuration.

    ``(x_val, t_val)`` is the test set when ``val_fraction`` is None; the test set is None
    when ``test_size`` is 0 (and then so is the validation set, without ``val_fraction``).
    Depends only on ``dataset``, ``train_size``, ``test_size``, ``val_fraction``,
    ``data_seed``, ``dtype``.

    Parameters
    ----------
    config : a configuration (any keys of :data:`MLP_DEFAULTS`).
    rng : None, or a ``np.random.Generator`` seeded with ``data_seed`` to draw the subsets
        from; it is left where the draws leave it, for a caller that goes on drawing from
        it (the random search of ``scripts/hyperparameter_search.py`` does).
    """
    config = dict(MLP_DEFAULTS, **config)
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


def train_mlp(config):
    """Train the network ``config`` describes; return ``{'history': ..., 'metrics': ...}``.

    Parameters
    ----------
    config : dict with a ``seed`` and any keys of :data:`MLP_DEFAULTS` (the others take
        their defaults; an unknown key is a ValueError).

    Returns
    -------
    history : the Trainer's :class:`optim.trainer.History` as a dict (``val_*`` are on
        the test set when ``val_fraction`` is None).
    metrics : after the last epoch: ``train_loss``, ``train_acc``, ``test_loss``,
        ``test_acc`` (not with ``test_size`` 0), and ``val_loss``, ``val_acc`` with a
        ``val_fraction``.

    Raises
    ------
    TrainingDivergedError when the loss becomes NaN or infinite (its ``history`` is the
    partial history).
    """
    if "seed" not in config:
        raise ValueError(f"train_mlp: the configuration has no 'seed': {config!r}")
    unknown = sorted(set(config) - set(MLP_DEFAULTS) - {"seed"})
    if unknown:
        raise ValueError(f"train_mlp: unknown configuration keys {unknown}; the keys are "
                         f"{sorted(MLP_DEFAULTS)} and 'seed'")
    c = dict(MLP_DEFAULTS, **config)
    train, val, test = load_run_data(c)
    # every label seen; with val_fraction None the validation set is the test set
    labels = [part[1] for part in (train, val, test) if part is not None and len(part[1])]
    n_classes = int(max(t.max() for t in labels)) + 1
    net = MultiLayerNet(train[0].shape[1], c["hidden"], n_classes, activation=c["activation"],
                        weight_init_std=c["weight_init"], weight_decay_lambda=c["weight_decay"],
                        dtype=np.dtype(c["dtype"]), rng=c["seed"])
    eval_train = True if c["train_eval_size"] is None else c["train_eval_size"]
    trainer = Trainer(net, get_optimizer(c["optimizer"], lr=c["lr"]), train, val,
                      epochs=c["epochs"], iterations=c["iterations"], batch_size=c["batch_size"],
                      eval_train=eval_train, rng=c["seed"] + 1000, verbose=0)
    history = trainer.fit()
    metrics = {"train_loss": history["train_loss"][-1], "train_acc": history["train_acc"][-1]}
    if val is not None:
        name = "test" if c["val_fraction"] is None else "val"
        metrics[f"{name}_loss"], metrics[f"{name}_acc"] = history["val_loss"][-1], history["val_acc"][-1]
    if c["val_fraction"] is not None and test is not None:
        test_metrics = trainer.evaluate(MiniBatchIterator(*test, EVAL_BATCH_SIZE, shuffle=False))
        metrics["test_loss"], metrics["test_acc"] = test_metrics["loss"], test_metrics["acc"]
    return {"history": dict(history), "metrics": metrics}
