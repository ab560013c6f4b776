"""Optimizers with ``update(params, grads)``, and the training loop that drives them."""

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
from .trainer import History, Trainer, TrainingDivergedError

__all__ = [
    "OPTIMIZERS", "SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "Optimizer",
    "RMSprop", "get_optimizer", "History", "Trainer", "TrainingDivergedError",
]
