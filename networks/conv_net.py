"""Convolutional networks: the textbook's SimpleConvNet and a deeper VGG-like DeepConvNet."""

from collections import OrderedDict

import numpy as np

from bprop.layers import Affine, Convolution, Dropout, Pooling, Relu, make_rng
from bprop.layers.checks import check_dtype, check_int
from bprop.layers.init import init_rule

from .chain import output_shapes
from .sequential import Sequential

#: the first article's convolution: 30 filters of 5x5, no padding, stride 1
DEFAULT_CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}

#: six 3x3 convolutions, the textbook's deep net; the pad of 2 in the fourth turns
#: 14x14 into 16x16, so that the third 2x2 pooling sees an even size (8 -> 4)
DEEP_CONV_PARAMS = (
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
)


def _conv_param(owner, conv_param):
    """``DEFAULT_CONV_PARAM`` updated with ``conv_param``, checked."""
    merged = dict(DEFAULT_CONV_PARAM)
    unknown = sorted(set(conv_param) - set(merged))
    if unknown:
        raise ValueError(f"{owner}: unknown conv_param keys {unknown}; use {sorted(merged)}")
    merged.update(conv_param)
    for key, low in (("filter_num", 1), ("filter_size", 1), ("stride", 1), ("pad", 0)):
        merged[key] = check_int(owner, f"conv_param[{key!r}]", merged[key], low)
    return merged


def _input_dim(owner, input_dim):
    input_dim = tuple(input_dim)
    if len(input_dim) != 3:
        raise ValueError(f"{owner}: input_dim must be (C, H, W), got {input_dim!r}")
    return tuple(check_int(owner, "input_dim", d) for d in input_dim)


def _common_args(owner, output_size, weight_init_std, dtype):
    check_int(owner, "output_size", output_size)
    init_rule(weight_init_std, "weight_init_std")  # validates the name or number early
    return check_dtype(owner, dtype)


def _zeros_conv(c, p, dtype):
    """A Convolution with zero filters for ``conv_param`` p: the network draws the weights."""
    fn, fs = p["filter_num"], p["filter_size"]
    return Convolution(np.zeros((fn, c, fs, fs), dtype), np.zeros(fn, dtype), p["stride"], p["pad"])


def relu_then_pool():
    """ReLU followed by 2x2, stride-2 max pooling, as the layers ``[Pool, Relu]``.

    Max pooling and ReLU commute (``max(relu(a), relu(b)) = relu(max(a, b))``, ReLU being
    monotone), and on ties both orders send the gradient to the same element or to none,
    so the network computes bit-identical outputs and gradients either way (a test
    checks it). Pooling first lets ReLU work on a quarter of the values. The layers keep
    their textbook names, ``Relu1`` and ``Pool1``; only their order in ``layers`` shows it.
    """
    return [Pooling(2, 2, stride=2), Relu()]


def _zeros_affine(d_in, d_out, dtype):
    return Affine(np.zeros((d_in, d_out), dtype), np.zeros(d_out, dtype))


class SimpleConvNet(Sequential):
    """Conv -> ReLU -> 2x2 max pool -> Affine -> ReLU -> Affine -> softmax loss.

    The first article's convolutional network; with the defaults (30 filters of 5x5
    on 28x28 MNIST, 100 hidden units) it has about 0.43 M parameters and reaches
    about 99% test accuracy.

    Parameters
    ----------
    input_dim : (C, H, W), one sample's shape.
    conv_param : dict with 'filter_num', 'filter_size' (square), 'pad', 'stride'; missing
        keys take ``DEFAULT_CONV_PARAM`` (30, 5, 0, 1). Output sizes follow PyTorch
        (``(H + 2*pad - k) // stride + 1``), also for the 2x2, stride 2 pooling.
    hidden_size : int, units of the hidden affine layer.
    output_size : int, number of classes.
    weight_init_std : positive number (the Gaussian's std; 0.01 as in the textbook)
        or 'relu'/'he' (``N(0, 2/fan_in)``), 'sigmoid'/'xavier' (``N(0, 1/fan_in)``) or
        another name of :data:`bprop.layers.INITS` ('kaiming_uniform', 'torch_default', ...;
        see :mod:`bprop.layers.init`).
    dtype : np.float64 or np.float32; every parameter, activation and gradient has it.
    rng : None, int or np.random.Generator, for the initial weights.
    weight_decay_lambda : float >= 0, L2 penalty ``0.5 * lambda * sum(W**2)`` on W1..W3.

    Shape
    -----
    x : (N, C, H, W) (a flat (N, C*H*W) input is reshaped); scores : (N, output_size).

    Attributes
    ----------
    params : dict 'W1' (FN, C, FS, FS), 'b1' (FN,), 'W2' (FN*PH*PW, hidden_size), 'b2',
        'W3' (hidden_size, output_size), 'b3'; PH, PW the pooled size.
    layers : OrderedDict 'Conv1', 'Pool1', 'Relu1', 'Affine1', 'Relu2', 'Affine2' (pooling
        before ReLU computes the same, faster: see :func:`relu_then_pool`).
    last_layer : SoftmaxWithLoss.
    """

    def __init__(self, input_dim=(1, 28, 28), conv_param=None, hidden_size=100, output_size=10,
                 weight_init_std=0.01, dtype=np.float64, rng=None, weight_decay_lambda=0.0):
        owner = type(self).__name__
        input_shape = _input_dim(owner, input_dim)
        self.conv_param = _conv_param(owner, conv_param or {})
        self.hidden_size = check_int(owner, "hidden_size", hidden_size)
        dtype = _common_args(owner, output_size, weight_init_std, dtype)
        self.weight_init_std = weight_init_std
        layers = [_zeros_conv(input_shape[0], self.conv_param, dtype), *relu_then_pool()]
        flat = int(np.prod(next(reversed(output_shapes(layers, input_shape, owner).values()))))
        layers += [
            _zeros_affine(flat, self.hidden_size, dtype),
            Relu(),
            _zeros_affine(self.hidden_size, output_size, dtype),
        ]
        super().__init__(layers, input_shape=input_shape, dtype=dtype, rng=rng, init=weight_init_std,
                         weight_decay_lambda=weight_decay_lambda)


class DeepConvNet(Sequential):
    """A VGG-like net: (Conv -> ReLU -> Conv -> ReLU -> 2x2 max pool) x 3 ->
    Affine -> ReLU -> Dropout -> Affine -> Dropout -> softmax loss.

    The textbook's deep network for MNIST: six 3x3 convolutions (16, 16, 32, 32, 64,
    64 filters), He initialisation, 50 hidden units and dropout 0.5 before and after
    the last affine layer; about 99.4% test accuracy.

    Parameters
    ----------
    input_dim : (C, H, W), one sample's shape.
    conv_params : sequence of an even number of conv_param dicts (see
        :class:`SimpleConvNet`); a 2x2, stride 2 max pooling follows every second
        convolution. Default ``DEEP_CONV_PARAMS``.
    hidden_size : int, units of the hidden affine layer.
    output_size : int, number of classes.
    dropout_ratio : float in [0, 1), drop probability of both Dropout layers.
    weight_init_std : 'relu'/'he' (default, ``N(0, 2/fan_in)``), 'sigmoid'/'xavier',
        another name of :data:`bprop.layers.INITS` (see :mod:`bprop.layers.init`) or a
        positive number (the Gaussian's std).
    weight_decay_lambda : float >= 0, L2 penalty on every W.
    dtype : np.float64 or np.float32.
    rng : None, int or np.random.Generator, for the weights and the dropout masks.

    Shape
    -----
    x : (N, C, H, W) (a flat (N, C*H*W) input is reshaped); scores : (N, output_size).

    Attributes
    ----------
    params : 'W1'..'W6' filter banks (FN, C, 3, 3) and 'b1'..'b6', then 'W7', 'b7'
        (hidden affine) and 'W8', 'b8' (output affine), for the default six convolutions.
    layers : OrderedDict 'Conv1', 'Relu1', 'Conv2', 'Pool1', 'Relu2', ..., 'Affine1' (pooling
        before ReLU, see :func:`relu_then_pool`),
        'Relu7', 'Dropout1', 'Affine2', 'Dropout2'.
    """

    def __init__(self, input_dim=(1, 28, 28), conv_params=DEEP_CONV_PARAMS, hidden_size=50, output_size=10,
                 dropout_ratio=0.5, weight_init_std="he", weight_decay_lambda=0.0, dtype=np.float64, rng=None):
        owner = type(self).__name__
        input_shape = _input_dim(owner, input_dim)
        conv_params = [_conv_param(owner, p) for p in conv_params]
        if not conv_params or len(conv_params) % 2:
            raise ValueError(f"{owner}: conv_params must hold an even number >= 2 of dicts, got {len(conv_params)}")
        self.conv_params = conv_params
        self.hidden_size = check_int(owner, "hidden_size", hidden_size)
        ratio = float(dropout_ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"{owner}: dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        self.dropout_ratio = ratio
        dtype = _common_args(owner, output_size, weight_init_std, dtype)
        self.weight_init_std = weight_init_std
        rng = make_rng(rng)

        layers, channels = [], input_shape[0]
        for i, p in enumerate(conv_params, start=1):
            layers += [_zeros_conv(channels, p, dtype)]
            layers += relu_then_pool() if i % 2 == 0 else [Relu()]
            channels = p["filter_num"]
        # The conv stack's output decides the first Affine's size (a stack that does
        # not fit its input raises here, naming the layer).
        flat = int(np.prod(next(reversed(output_shapes(layers, input_shape, owner).values()))))
        layers += [
            _zeros_affine(flat, self.hidden_size, dtype),
            Relu(),
            Dropout(ratio, rng=rng),
            _zeros_affine(self.hidden_size, output_size, dtype),
            Dropout(ratio, rng=rng),
        ]
        super().__init__(layers, input_shape=input_shape, dtype=dtype, rng=rng, init=weight_init_std,
                         weight_decay_lambda=weight_decay_lambda)
