"""Training runs from a configuration dict: any model of :data:`MODELS`, with the one Trainer.

A configuration names its model (``'mlp'``, ``'lenet5'``, ``'simple_conv'``,
``'char_lm'``), its data and every setting; :func:`train_run` builds the model and its
data from it, trains with :class:`~bprop.optim.Trainer` and returns the history and the
final metrics. It is a run function for :func:`optim.sweep.run_sweep`: it lives in the
installed package, so a Dask worker on another machine can import it, and it depends only
on its configuration. :func:`run_config` writes a configuration out in full, so that the
key a sweep stores it under covers every setting (a default changed later cannot make an
old result look like a new one). :func:`train_mlp` and :func:`mlp_config` are the same
for model ``'mlp'``.

Each model's keys are those of its defaults in :data:`MODELS` plus ``seed``; a key the
model does not have is an error, not a setting silently ignored.

Randomness, as in the experiment scripts: ``data_seed`` picks the subsets of a classifier's
data (the same images for every run of a sweep), ``seed`` the initial weights
(``rng=seed``; a language model's dropout masks too) and ``seed + 1000`` the order of the
mini-batches. A language model reads its text in order: nothing in its data is random.
"""

import functools
from typing import Callable, NamedTuple

import numpy as np

from bprop.datasets import (
    BPTTBatches,
    MiniBatchIterator,
    load_dataset,
    load_tiny_shakespeare,
    make_spiral,
    random_subset,
    train_val_split,
)
from bprop.layers import Affine, Convolution, Flatten, Pooling, Relu, make_rng
from bprop.layers.checks import check_int
from bprop.networks import MultiLayerNet, RnnLM, Sequential, SimpleConvNet

from .callbacks import GradientClipping
from .optimizers import get_optimizer
from .trainer import EVAL_BATCH_SIZE, Trainer

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

#: the training keys of every classifier, beside the data keys
_CLASSIFIER_TRAINING = {
    "weight_init": "he",      # 'he', 'xavier' or a standard deviation
    "weight_decay": 0.0,      # L2 strength lambda
    "epochs": 5,
    "iterations": None,       # an exact number of updates instead of epochs
    "train_eval_size": None,  # training samples evaluated after each epoch (None: all)
}

#: every key of an MLP's configuration, with its default (``seed`` has none)
MLP_DEFAULTS = {
    "model": "mlp",
    **CLASSIFIER_DATA_DEFAULTS,
    "hidden": [100],          # hidden layer widths
    "activation": "relu",
    "optimizer": "sgd",
    "lr": 0.1,
    "batch_size": 100,
    **_CLASSIFIER_TRAINING,
}

#: every key of a LeNet-5 configuration, with its default
LENET5_DEFAULTS = {
    "model": "lenet5",
    **CLASSIFIER_DATA_DEFAULTS,
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 100,
    **_CLASSIFIER_TRAINING,
}

#: every key of a SimpleConvNet configuration, with its default
SIMPLE_CONV_DEFAULTS = {
    "model": "simple_conv",
    **CLASSIFIER_DATA_DEFAULTS,
    "filter_num": 30,         # filters of the convolution
    "filter_size": 5,         # their side
    "hidden": 100,            # units of the hidden affine layer (one width)
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 100,
    **_CLASSIFIER_TRAINING,
}

#: every key of a character-level language model's configuration, with its default
CHAR_LM_DEFAULTS = {
    "model": "char_lm",
    "dataset": "tiny-shakespeare",
    "train_chars": None,      # the first this many characters of the training text (None: all)
    "val_chars": None,        # the first this many of the validation text (None: all; 0: none)
    "embed": 64,              # embedding size
    "hidden": 256,            # units of every LSTM
    "layers": 1,              # stacked LSTMs
    "dropout": 0.0,           # between layers
    "optimizer": "adam",
    "lr": 2e-3,
    "clip": 5.0,              # global gradient norm; 0: no clipping
    "batch_size": 32,         # parallel streams
    "time_size": 50,          # characters per window (truncated BPTT)
    "epochs": 5,
    "iterations": None,
    "dtype": "float32",
}

#: the validation text of a language model is read as this many streams in windows of
#: LM_EVAL_TIME_SIZE characters, whatever the training batches: runs with different batch
#: sizes are measured alike
LM_EVAL_STREAMS = 16
LM_EVAL_TIME_SIZE = 100


class RunModel(NamedTuple):
    """One entry of :data:`MODELS`: what a run of that model needs."""

    #: every key of its configuration but ``seed``, with its default
    defaults: dict
    #: the values ``dataset`` may take
    datasets: tuple
    #: ``build(config) -> RunParts``: the model and its data, from a complete configuration
    build: Callable


class RunParts(NamedTuple):
    """What a model's builder hands :func:`train_run`."""

    model: object
    #: the Trainer's ``train_data`` and ``val_data`` (arrays or batch sources; val may be None)
    train: object
    val: object
    #: None, or a batch source evaluated once after training (``test_*`` metrics)
    test: object
    #: the name of the validation set in the final metrics: 'val', or 'test' when the
    #: per-epoch validation set is the test set
    val_name: str
    #: more keyword arguments of the Trainer (``eval_train``, ``callbacks``)
    trainer_options: dict


# --- data -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _full_dataset(name, dtype):
    # Loaded and converted once per worker process, shared by its runs (read-only).
    (x_train, t_train), (x_test, t_test) = load_dataset(name, dtype=dtype)
    for array in (x_train, t_train, x_test, t_test):
        array.setflags(write=False)
    return (x_train, t_train), (x_test, t_test)


@functools.lru_cache(maxsize=1)
def _corpus(name):
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


# --- the models ---------------------------------------------------------------------------
def lenet5(n_classes=10, weight_init="he", weight_decay=0.0, dtype=np.float32, rng=None):
    """LeNet-5 for 28x28 images, with ReLU and max pooling (LeCun et al., 1998, had tanh
    and average subsampling), as the README builds it::

        conv 6@5x5 pad 2 - ReLU - pool 2 - conv 16@5x5 - ReLU - pool 2
        - affine 120 - ReLU - affine 84 - ReLU - affine n_classes - softmax

    x : (N, 1, 28, 28) or flat (N, 784) -> scores (N, n_classes); 61,706 parameters for 10 classes.
    """
    return Sequential([
        Convolution(1, 6, 5, pad=2), Relu(), Pooling(2, 2, stride=2),   # 6 x 14 x 14
        Convolution(6, 16, 5), Relu(), Pooling(2, 2, stride=2),         # 16 x 5 x 5
        Flatten(),
        Affine(400, 120), Relu(),
        Affine(120, 84), Relu(),
        Affine(84, n_classes),
    ], input_shape=(1, 28, 28), init=weight_init, weight_decay_lambda=weight_decay, dtype=dtype, rng=rng)


def _mlp(c, n_features, n_classes):
    return MultiLayerNet(n_features, c["hidden"], n_classes, activation=c["activation"],
                         weight_init_std=c["weight_init"], weight_decay_lambda=c["weight_decay"],
                         dtype=np.dtype(c["dtype"]), rng=c["seed"])


def _lenet5(c, n_features, n_classes):
    return lenet5(n_classes, c["weight_init"], c["weight_decay"], np.dtype(c["dtype"]), rng=c["seed"])


def _simple_conv(c, n_features, n_classes):
    conv = {"filter_num": c["filter_num"], "filter_size": c["filter_size"], "pad": 0, "stride": 1}
    return SimpleConvNet((1, 28, 28), conv, c["hidden"], n_classes, weight_init_std=c["weight_init"],
                         dtype=np.dtype(c["dtype"]), rng=c["seed"], weight_decay_lambda=c["weight_decay"])


def _classifier(make_net):
    """A builder of :data:`MODELS` for a classifier: its data from :func:`load_run_data`,
    its network from ``make_net(config, n_features, n_classes)``."""

    def build(c):
        train, val, test = load_run_data(c)
        # every label seen; with val_fraction None the validation set is the test set
        labels = [part[1] for part in (train, val, test) if part is not None and len(part[1])]
        n_classes = int(max(t.max() for t in labels)) + 1
        net = make_net(c, train[0].shape[1], n_classes)
        held_out = c["val_fraction"] is not None
        test_batches = (MiniBatchIterator(*test, EVAL_BATCH_SIZE, shuffle=False)
                        if held_out and test is not None else None)
        eval_train = True if c["train_eval_size"] is None else c["train_eval_size"]
        return RunParts(net, train, val, test_batches, "val" if held_out else "test", {"eval_train": eval_train})

    return build


def _char_lm(c):
    corpus = _corpus(c["dataset"])
    n_train = check_int("char_lm", "train_chars", c["train_chars"], 1, allow_none=True)
    n_val = check_int("char_lm", "val_chars", c["val_chars"], 0, allow_none=True)
    net = RnnLM(len(corpus.vocab), c["embed"], c["hidden"], num_layers=c["layers"], dropout=c["dropout"],
                dtype=np.dtype(c["dtype"]), rng=c["seed"])
    train = BPTTBatches(corpus.train[:n_train], c["batch_size"], c["time_size"])
    val = None if n_val == 0 else BPTTBatches(corpus.val[:n_val], LM_EVAL_STREAMS, LM_EVAL_TIME_SIZE)
    callbacks = [GradientClipping(c["clip"])] if c["clip"] else []
    return RunParts(net, train, val, None, "val", {"callbacks": callbacks})


#: the models a configuration may name: ``{name: RunModel(defaults, datasets, build)}``
MODELS = {
    "mlp": RunModel(MLP_DEFAULTS, ("mnist", "fashion-mnist", "spiral"), _classifier(_mlp)),
    "lenet5": RunModel(LENET5_DEFAULTS, ("mnist", "fashion-mnist"), _classifier(_lenet5)),
    "simple_conv": RunModel(SIMPLE_CONV_DEFAULTS, ("mnist", "fashion-mnist"), _classifier(_simple_conv)),
    "char_lm": RunModel(CHAR_LM_DEFAULTS, ("tiny-shakespeare",), _char_lm),
}


# --- configurations -----------------------------------------------------------------------
def _complete(owner, config):
    """``config`` checked (a seed, a known model, its keys only, one of its datasets) and
    completed with the model's defaults; lists copied, tuples made lists (as JSON gives them)."""
    if "seed" not in config:
        raise ValueError(f"{owner}: the configuration has no 'seed': {config!r}")
    if "model" not in config:
        raise ValueError(f"{owner}: the configuration has no 'model'; name one of {sorted(MODELS)}")
    name = config["model"]
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"{owner}: unknown model {name!r}; the models are {sorted(MODELS)}")
    spec = MODELS[name]
    unknown = sorted(set(config) - set(spec.defaults) - {"seed"})
    if unknown:
        raise ValueError(f"{owner}: unknown configuration keys {unknown} for model {name!r}; its keys are "
                         f"{sorted(spec.defaults)} and 'seed'")
    complete = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in dict(spec.defaults, **config).items()}
    if complete["dataset"] not in spec.datasets:
        raise ValueError(f"{owner}: model {name!r} trains on dataset {' or '.join(map(repr, spec.datasets))}, "
                         f"got {complete['dataset']!r}")
    return complete


def run_config(model, seed, **settings):
    """A complete configuration for :func:`train_run`: the defaults of ``model`` in
    :data:`MODELS` with ``settings``. An unknown model or setting is a ValueError naming it.

    >>> run_config("lenet5", 0, lr=3e-3)["batch_size"]
    100
    """
    return _complete("run_config", {**settings, "model": model, "seed": seed})


def mlp_config(seed, **settings):
    """A complete configuration for :func:`train_mlp`: :data:`MLP_DEFAULTS` with ``settings``.

    >>> mlp_config(0, optimizer="adam", lr=1e-3)["hidden"]
    [100]
    """
    return _complete("mlp_config", {**settings, "model": "mlp", "seed": seed})


# --- runs ------------------------------------------------------------------------------------
def train_run(config):
    """Train the model ``config`` describes; return ``{'history': ..., 'metrics': ...}``.

    Parameters
    ----------
    config : dict with ``model`` (a name in :data:`MODELS`), ``seed`` and any keys of that
        model's defaults (the others take their defaults; an unknown key is a ValueError
        naming it and the model).

    Returns
    -------
    history : the Trainer's :class:`optim.trainer.History` as a dict (a classifier's
        ``val_*`` are on the test set when ``val_fraction`` is None).
    metrics : the model's metrics after the last epoch, named by where they were measured:
        a classifier's ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc`` (not with
        ``test_size`` 0), and ``val_loss``, ``val_acc`` with a ``val_fraction``; a language
        model's ``train_loss``, ``train_perplexity`` (over the epoch's own windows),
        ``val_loss``, ``val_perplexity`` (not with ``val_chars`` 0).

    Raises
    ------
    TrainingDivergedError when the loss becomes NaN or infinite (its ``history`` is the
    partial history).
    """
    c = _complete("train_run", config)
    parts = MODELS[c["model"]].build(c)
    trainer = Trainer(parts.model, get_optimizer(c["optimizer"], lr=c["lr"]), parts.train, parts.val,
                      epochs=c["epochs"], iterations=c["iterations"], batch_size=c["batch_size"],
                      rng=c["seed"] + 1000, verbose=0, **parts.trainer_options)
    history = trainer.fit()
    keys = [m.key for m in trainer.metrics]
    metrics = {f"train_{k}": history[f"train_{k}"][-1] for k in keys if f"train_{k}" in history}
    if parts.val is not None:
        metrics.update({f"{parts.val_name}_{k}": history[f"val_{k}"][-1] for k in keys})
    if parts.test is not None:
        metrics.update({f"test_{k}": value for k, value in trainer.evaluate(parts.test).items()})
    return {"history": dict(history), "metrics": metrics}


def train_mlp(config):
    """:func:`train_run` of an MLP: ``config`` may leave ``model`` out (see :data:`MLP_DEFAULTS`)."""
    model = config.get("model", "mlp")
    if model != "mlp":
        raise ValueError(f"train_mlp: trains model 'mlp', the configuration names {model!r}; use train_run")
    return train_run(dict(config, model="mlp"))
