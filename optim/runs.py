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

The models, their defaults and builders are in :mod:`optim.run_models`; the data of a run
is loaded by :mod:`optim.mlp_runs`.
"""

from .optimizers import get_optimizer
from .run_models import MODELS
from .trainer import Trainer


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
