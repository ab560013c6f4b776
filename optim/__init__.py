"""Optimizers with ``update(params, grads)``, the one training loop that drives them for every
model (``Trainer``, with its callbacks, metrics and schedules), and sweeps of many training runs at once
(``run_sweep``; Dask is needed only for a Dask scheduler)."""

from .optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adadelta,
    Adam,
    AdamW,
    Momentum,
    NAdam,
    Nesterov,
    Optimizer,
    RAdam,
    RMSprop,
    get_optimizer,
)
from .clip import clip_grads
from .callbacks import Callback, DivergenceStop, GradientClipping, ResetState
from .csv_logger import CSVLogger
from .tensorboard import TensorBoard
from .metrics import METRICS, Accuracy, BinaryAccuracy, Loss, MeanSquaredError, Metric, NatsPerToken, Perplexity, SequenceAccuracy
from .trainer import Checkpoint, History, Trainer, TrainingDivergedError
from .early_stopping import BestWeights, EarlyStopping
from .schedules import (
    SCHEDULES,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
    WarmupCosine,
    get_schedule,
)
from .checkpoint import load_checkpoint
from .state_checks import CheckpointError
from .run_models import MLP_DEFAULTS, MODELS
from .runs import mlp_config, run_config, train_mlp, train_run
from .sweep import run_sweep
from .sweep_records import config_key
from .sweep_results import SweepResult, summarize
from .sweep_store import SweepStore

__all__ = [
    "OPTIMIZERS", "SGD", "AdaGrad", "Adadelta", "Adam", "AdamW", "Momentum", "NAdam", "Nesterov", "Optimizer",
    "RAdam", "RMSprop", "get_optimizer", "clip_grads", "History", "Trainer",
    "TrainingDivergedError", "Callback", "DivergenceStop", "GradientClipping", "ResetState", "Checkpoint", "CSVLogger", "TensorBoard",
    "METRICS", "Accuracy", "BinaryAccuracy", "Loss", "MeanSquaredError", "Metric", "NatsPerToken", "Perplexity", "SequenceAccuracy",
    "BestWeights", "EarlyStopping",
    "SCHEDULES", "CosineAnnealingLR", "ExponentialLR", "LambdaLR", "LinearLR", "LRScheduler", "MultiStepLR",
    "OneCycleLR", "ReduceLROnPlateau", "StepLR", "WarmupCosine", "get_schedule", "CheckpointError", "load_checkpoint",
    "MLP_DEFAULTS", "MODELS", "mlp_config", "run_config", "train_mlp", "train_run", "SweepResult", "run_sweep", "summarize",
    "SweepStore", "config_key",
]
