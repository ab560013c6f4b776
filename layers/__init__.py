"""Layers with ``forward`` and ``backward``, and the stable functions they are built on.

Every layer follows one contract (see :class:`bprop.layers.base.Layer`):
``forward(x, train=True)`` returns the output and caches what ``backward`` needs;
``backward(dout)`` returns ``dx`` as a new array and stores parameter gradients
beside the parameters (``Affine.dW`` next to ``Affine.W``). Loss layers take the
targets too: ``forward(x, t)`` returns a float, ``backward(dout=1.0)`` returns ``dx``.

Activations, losses and weight initialisations are found by name in one registry each:
``ACTIVATIONS`` (``'relu'`` -> :class:`Relu`), ``LOSSES`` (``'softmax'`` ->
:class:`SoftmaxWithLoss`) and ``INITS`` (``'he'`` -> the :class:`~bprop.layers.init.Init`
that draws ``N(0, 2 / fan_in)``).
"""

from .activations import ACTIVATIONS, Activation, LeakyRelu, Relu, Sigmoid, Tanh
from .smooth_activations import ELU, GELU, SiLU, Softplus
from .softmax_layer import Softmax
from .affine import Affine
from .attention import Attention, AttentionWeight, WeightSum
from .time_attention import TimeAttention
from .base import BackwardBeforeForwardError, Layer
from .batchnorm import BatchNormalization
from .convolution import Convolution
from .conv1d import Conv1d
from .conv_transpose import ConvTranspose2d
from .container import Container
from .dropout import Dropout
from .layernorm import LayerNorm
from .multihead_attention import MultiHeadAttention
from .positional import PositionalEmbedding, SinusoidalPositionalEncoding
from .transformer_block import TransformerBlock
from .flatten import Flatten
from .global_pool import AdaptiveAvgPool2d, GlobalAvgPool
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
from .smooth_functions import elu, elu_grad, gelu, gelu_grad, silu, silu_grad, softplus, softplus_grad
from .im2col import col2im, im2col
from .init import INITS, init_, init_bias_, init_rule, init_scale
from .loss import LOSSES, IdentityWithLoss, SoftmaxWithLoss
from .regression_losses import HuberLoss, L1Loss, MeanSquaredError
from .sigmoid_loss import SigmoidWithLoss
from .peek import Peek
from .pooling import Pooling
from .upsample import Upsample
from .rng import make_rng
from .embedding import Embedding, TimeEmbedding
from .embedding_dot import EmbeddingDot
from .negative_sampling import NegativeSamplingLoss
from .unigram_sampler import UnigramSampler
from .gru import GRU, TimeGRU
from .lstm import LSTM, TimeLSTM
from .bilstm import TimeBiLSTM
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
    "ELU", "GELU", "SiLU", "Softplus", "Softmax", "elu", "elu_grad", "gelu", "gelu_grad", "silu", "silu_grad",
    "softplus", "softplus_grad", "HuberLoss", "L1Loss", "MeanSquaredError", "SigmoidWithLoss",
    "Conv1d", "ConvTranspose2d", "AdaptiveAvgPool2d", "GlobalAvgPool", "Upsample", "Container", "TimeBiLSTM",
    "init_", "init_bias_", "init_rule", "LayerNorm", "MultiHeadAttention", "PositionalEmbedding",
    "SinusoidalPositionalEncoding", "TransformerBlock", "EmbeddingDot", "NegativeSamplingLoss", "UnigramSampler",
    "Attention", "AttentionWeight", "WeightSum", "TimeAttention",
]
