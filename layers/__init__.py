"""Layers with ``forward`` and ``backward``, and the stable functions they are built on.

Every layer follows one contract (see :class:`bprop.layers.base.Layer`):
``forward(x, train=True)`` returns the output and caches what ``backward`` needs;
``backward(dout)`` returns ``dx`` as a new array and stores parameter gradients
beside the parameters (``Affine.dW`` next to ``Affine.W``). Loss layers take the
targets too: ``forward(x, t)`` returns a float, ``backward(dout=1.0)`` returns ``dx``.

Activations, losses and weight initialisations are found by name in one registry each:
``ACTIVATIONS`` (``'relu'`` -> :class:`Relu`), ``LOSSES`` (``'softmax'`` ->
:class:`SoftmaxWithLoss`) and ``INITS`` (``'he'`` -> ``fan_in -> sqrt(2 / fan_in)``).
"""

from .activations import ACTIVATIONS, Activation, LeakyRelu, Relu, Sigmoid, Tanh
from .affine import Affine
from .base import BackwardBeforeForwardError, Layer
from .batchnorm import BatchNormalization
from .convolution import Convolution
from .dropout import Dropout
from .flatten import Flatten
from .functional import (
    cross_entropy_error,
    log_softmax,
    mean_squared_error,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_cross_entropy,
    step_function,
    tanh,
    tanh_grad,
)
from .gradcheck import numerical_gradient, relative_error
from .im2col import col2im, im2col
from .init import INITS, init_scale
from .loss import LOSSES, IdentityWithLoss, SoftmaxWithLoss
from .peek import Peek
from .pooling import Pooling
from .rng import make_rng
from .embedding import Embedding, TimeEmbedding
from .gru import GRU, TimeGRU
from .lstm import LSTM, TimeLSTM
from .rnn import RNN, TimeRNN
from .time_layers import TiedTimeAffine, TimeAffine, TimeDropout, TimeSoftmaxWithLoss
from .torch_weights import weights_from_torch, weights_to_torch

__all__ = [
    "ACTIVATIONS", "Activation", "INITS", "LOSSES", "LeakyRelu",
    "Affine", "BackwardBeforeForwardError", "BatchNormalization", "Dropout",
    "IdentityWithLoss", "Layer", "Relu", "Sigmoid", "SoftmaxWithLoss", "Tanh",
    "cross_entropy_error", "log_softmax", "make_rng", "mean_squared_error",
    "numerical_gradient", "relative_error", "relu", "relu_grad", "sigmoid",
    "sigmoid_grad", "softmax", "softmax_cross_entropy", "step_function", "tanh", "tanh_grad",
    "Convolution", "Peek", "Pooling", "col2im", "im2col", "Flatten", "init_scale",
    "Embedding", "TimeEmbedding", "RNN", "TimeRNN", "LSTM", "TimeLSTM", "GRU", "TimeGRU",
    "TiedTimeAffine", "TimeAffine", "TimeDropout", "TimeSoftmaxWithLoss", "weights_from_torch",
    "weights_to_torch",
]
