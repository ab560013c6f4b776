"""Optimizers with ``update(params, grads)``, the training loop that drives them, and sweeps
of many training runs at once (``run_sweep``; Dask is needed only for a Dask scheduler)."""

from .optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    get_optimizer,
)
from .clip import clip_grads
from .trainer import History, Trainer, TrainingDivergedError
from .early_stopping import BestWeights, EarlyStopping
from .schedules import ExponentialDecay, StepDecay
from .checkpoint import CheckpointError, load_checkpoint
from .mlp_runs import MLP_DEFAULTS, mlp_config, train_mlp
from .sweep import SweepResult, run_sweep, summarize
from .sweep_store import SweepStore, config_key

__all__ = [
    "OPTIMIZERS", "SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "Optimizer",
    "RMSprop", "get_optimizer", "History", "Trainer", "TrainingDivergedError",
    "BestWeights", "EarlyStopping", "ExponentialDecay", "StepDecay", "CheckpointError", "load_checkpoint",
    "MLP_DEFAULTS", "mlp_config", "train_mlp", "SweepResult", "run_sweep", "summarize",
    "SweepStore", "config_key",
]
