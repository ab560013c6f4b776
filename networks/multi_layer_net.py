"""Fully connected networks of any depth: builders of a :class:`Sequential`."""

import numpy as np

from bprop.layers import ACTIVATIONS, Affine, BatchNormalization, Dropout, make_rng
from bprop.layers.checks import check_dtype, check_int
from bprop.layers.init import init_rule

from .sequential import Sequential


class MultiLayerNet(Sequential):
    """Fully connected network: (Affine [-> BatchNorm] -> activation [-> Dropout]) x L -> Affine -> loss.

    A :class:`Sequential` built from sizes; everything a Sequential does, it does.

    Parameters
    ----------
    input_size : int, features per sample (784 for MNIST).
    hidden_size_list : list of int, the width of each hidden layer (may be empty:
        a linear softmax classifier).
    output_size : int, number of classes (or regression outputs).
    activation : a name of :data:`bprop.layers.ACTIVATIONS` ('relu', 'leaky_relu',
        'sigmoid', 'tanh', any case), the layer class built with no arguments.
    weight_init_std : a name of :data:`bprop.layers.INITS` ('he': N(0, 2/fan_in);
        'xavier': N(0, 1/fan_in), the textbook's fan-in form; 'kaiming_uniform',
        'xavier_normal', 'xavier_uniform', 'torch_default', 'orthogonal', ...: see
        :mod:`bprop.layers.init`), an activation's name for its ``default_init`` ('relu'
        is He, 'sigmoid' and 'tanh' Xavier), or a positive number: the std of the
        Gaussian weights. Biases start at 0 unless the init draws them ('torch_default').
    weight_decay_lambda : float >= 0, L2 penalty ``0.5 * lambda * sum(W**2)``.
    use_batchnorm : bool, a BatchNormalization after each hidden Affine.
    use_dropout : bool, a Dropout(dropout_ratio) after each hidden activation.
    dtype : np.float64 or np.float32; every parameter, activation and gradient has it.
    rng : None, int or np.random.Generator, for the weights and dropout masks.
    loss : 'softmax' (SoftmaxWithLoss, classification) or 'identity' (IdentityWithLoss).

    Attributes
    ----------
    params : dict 'W1', 'b1', ... (and 'gamma1', 'beta1', ... with batchnorm).
    layers : OrderedDict 'Affine1', 'BatchNorm1', 'Relu1', 'Dropout1', ..., the layers
        referencing ``params``.
    last_layer : the loss layer.
    """

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu",
                 weight_init_std="relu", weight_decay_lambda=0.0, use_batchnorm=False,
                 use_dropout=False, dropout_ratio=0.5, dtype=np.float64, rng=None,
                 loss="softmax"):
        owner = type(self).__name__
        hidden_size_list = list(hidden_size_list)
        for name, size in [("input_size", input_size), ("output_size", output_size)] + [
            (f"hidden_size_list[{i}]", s) for i, s in enumerate(hidden_size_list)
        ]:
            check_int(owner, name, size)
        activation_layer = ACTIVATIONS.lookup(activation, owner=owner)
        dtype = check_dtype(owner, dtype)
        init_rule(weight_init_std, "weight_init_std")  # validates the name or number early
        if use_dropout and not 0.0 <= float(dropout_ratio) < 1.0:
            raise ValueError(f"{owner}: dropout_ratio must be in [0, 1), got {dropout_ratio!r}")

        self.input_size = int(input_size)
        self.hidden_size_list = [int(s) for s in hidden_size_list]
        self.activation = activation.lower()
        self.weight_init_std = weight_init_std
        self.use_batchnorm = bool(use_batchnorm)
        self.use_dropout = bool(use_dropout)
        self.dropout_ratio = float(dropout_ratio)
        rng = make_rng(rng)

        sizes = [self.input_size] + self.hidden_size_list + [int(output_size)]
        layers = []
        for i in range(1, len(sizes)):
            # zeros: the network draws the weights, in layer order, from rng
            layers.append(Affine(np.zeros(sizes[i - 1:i + 1], dtype), np.zeros(sizes[i], dtype)))
            if i == len(sizes) - 1:
                break
            if self.use_batchnorm:
                layers.append(BatchNormalization(sizes[i], dtype=dtype))
            layers.append(activation_layer())
            if self.use_dropout:
                layers.append(Dropout(self.dropout_ratio, rng=rng))
        super().__init__(layers, loss=loss, input_shape=(self.input_size,), dtype=dtype, rng=rng,
                         init=weight_init_std, weight_decay_lambda=weight_decay_lambda)


class TwoLayerNet(MultiLayerNet):
    """The first article's network: input -> Affine -> Sigmoid -> Affine -> softmax loss.

    Weights start as ``weight_init_std * N(0, 1)`` (0.01 by default), biases at 0;
    everything else is :class:`MultiLayerNet` with one sigmoid hidden layer.
    """

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01,
                 dtype=np.float64, rng=None):
        super().__init__(input_size, [hidden_size], output_size, activation="sigmoid",
                         weight_init_std=weight_init_std, dtype=dtype, rng=rng)
