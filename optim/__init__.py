"""Optimizers with ``update(params, grads)``, the training loops that drive them (``Trainer``;
``LanguageModelTrainer`` for truncated BPTT), and sweeps of many training runs at once
(``run_sweep``; Dask is needed only for a Dask scheduler)."""

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
from .lm_training import LanguageModelTrainer, evaluate_lm
from .trainer import History, Trainer, TrainingDivergedError
from .early_stopping import BestWeights, EarlyStopping
from .schedules import ExponentialDecay, StepDecay
from .checkpoint import CheckpointError, load_checkpoint
from .mlp_runs import MLP_DEFAULTS, mlp_config, train_mlp
from .sweep import SweepResult, run_sweep, summarize
from .sweep_store import SweepStore, config_key

__all__ = [
    "OPTIMIZERS", "SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "Optimizer",
    "RMSprop", "get_optimizer", "clip_grads", "LanguageModelTrainer", "evaluate_lm", "History", "Trainer",
    "TrainingDivergedError",
    "BestWeights", "EarlyStopping", "ExponentialDecay", "StepDecay", "CheckpointError", "load_checkpoint",
    "MLP_DEFAULTS", "mlp_config", "train_mlp", "SweepResult", "run_sweep", "summarize",
    "SweepStore", "config_key",
]
