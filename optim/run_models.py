"""The models a run configuration may name: :data:`MODELS`, each with its defaults and builder.

A builder takes a complete configuration (see :mod:`optim.runs`) and returns the model and
its data as :class:`RunParts`: a classifier (``'mlp'``, ``'lenet5'``, ``'simple_conv'``)
on MNIST, Fashion-MNIST or the spiral, or a character-level language model
(``'char_lm'``) on Tiny Shakespeare.
"""

from typing import Callable, NamedTuple

import numpy as np

from bprop.datasets import BPTTBatches, MiniBatchIterator
from bprop.layers import Affine, Convolution, Flatten, Pooling, Relu
from bprop.layers.checks import check_int
from bprop.networks import MultiLayerNet, RnnLM, Sequential, SimpleConvNet

from .callbacks import GradientClipping
from .mlp_runs import CLASSIFIER_DATA_DEFAULTS, load_run_corpus, load_run_data
from .trainer import EVAL_BATCH_SIZE

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
    corpus = load_run_corpus(c["dataset"])
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
