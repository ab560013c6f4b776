"""Convolutional networks: the textbook's SimpleConvNet and a deeper VGG-like DeepConvNet."""

from collections import OrderedDict

import numpy as np

from bprop.layers.checks import check_int
from bprop.layers import Affine, Convolution, Dropout, Pooling, Relu, SoftmaxWithLoss, make_rng

from .base import Net
from .multi_layer_net import init_scale

#: the first article's convolution: 30 filters of 5x5, no padding, stride 1
DEFAULT_CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}

#: six 3x3 convolutions, the textbook's deep net; the pad of 2 in the fourth turns
#: 14x14 into 16x16 so that the third 2x2 pooling sees an even size (8 -> 4)
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


def _conv_output(owner, where, hw, p):
    """Output (H, W) of a convolution with conv_param ``p`` on ``hw``; ValueError if it does not fit."""
    k, s, pad = p["filter_size"], p["stride"], p["pad"]
    out = []
    for size in hw:
        if k > size + 2 * pad or (size + 2 * pad - k) % s:
            raise ValueError(
                f"{owner}: {where} ({k}x{k}, stride {s}, pad {pad}) does not fit its {hw[0]}x{hw[1]} input: "
                f"need filter_size <= size + 2*pad and (size + 2*pad - filter_size) % stride == 0"
            )
        out.append((size + 2 * pad - k) // s + 1)
    return tuple(out)


def _pool_output(owner, where, hw):
    """Output (H, W) of a 2x2 stride-2 pooling; ValueError unless both sides are even."""
    if hw[0] % 2 or hw[1] % 2:
        raise ValueError(f"{owner}: {where} (2x2, stride 2) needs an even input size, got {hw[0]}x{hw[1]}")
    return hw[0] // 2, hw[1] // 2


class _ConvNetBase(Net):
    """Shared checks and the in-place weight initialisation of the conv nets."""

    def _common_args(self, output_size, weight_init_std, weight_decay_lambda, dtype, rng):
        owner = type(self).__name__
        self.output_size = check_int(owner, "output_size", output_size)
        lam = float(weight_decay_lambda)
        if not lam >= 0 or not np.isfinite(lam):
            raise ValueError(f"{owner}: weight_decay_lambda must be >= 0, got {weight_decay_lambda!r}")
        self.weight_decay_lambda = lam
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"{owner}: dtype must be float32 or float64, got {dtype}")
        self.dtype = dtype
        init_scale(weight_init_std, 1)  # validates the name or number early
        self.weight_init_std = weight_init_std
        self.rng = make_rng(rng)
        self.layers = OrderedDict()
        self._param_refs = {}

    def _as_input(self, x):
        # Flat MNIST rows (N, 784) are accepted as well as images (N, 1, 28, 28).
        x = super()._as_input(x)
        if x.ndim == 2 and x.shape[1] == int(np.prod(self.input_shape)):
            x = x.reshape((x.shape[0],) + self.input_shape)
        return x

    def init_weights(self, rng=None):
        """(Re)draw every weight in place: ``W ~ N(0, s**2)``, biases 0.

        ``s`` comes from :func:`networks.init_scale` with ``weight_init_std`` and the
        fan-in of the layer: ``C * FH * FW`` for a filter bank ``(FN, C, FH, FW)``,
        the number of rows for an affine ``W``. In place, so layers and optimizers
        keep referring to the same arrays.
        """
        rng = self.rng if rng is None else make_rng(rng)
        for k, p in self.params.items():
            if k.startswith("W"):
                fan_in = int(np.prod(p.shape[1:])) if p.ndim == 4 else p.shape[0]
                scale = init_scale(self.weight_init_std, fan_in)
                p[...] = rng.standard_normal(p.shape, dtype=self.dtype) * self.dtype.type(scale)
            else:
                p[...] = 0


class SimpleConvNet(_ConvNetBase):
    """Conv -> ReLU -> 2x2 max pool -> Affine -> ReLU -> Affine -> softmax loss.

    The first article's convolutional network; with the defaults (30 filters of 5x5
    on 28x28 MNIST, 100 hidden units) it has about 0.43 M parameters and reaches
    about 99% test accuracy.

    Parameters
    ----------
    input_dim : (C, H, W), one sample's shape.
    conv_param : dict with 'filter_num', 'filter_size' (square), 'pad', 'stride'; missing
        keys take ``DEFAULT_CONV_PARAM`` (30, 5, 0, 1). The convolution must fit its
        input exactly and give an even output size for the 2x2, stride 2 pooling.
    hidden_size : int, units of the hidden affine layer.
    output_size : int, number of classes.
    weight_init_std : positive number (the Gaussian's std; 0.01 as in the textbook)
        or 'relu'/'he' (``sqrt(2/fan_in)``) or 'sigmoid'/'xavier' (``sqrt(1/fan_in)``).
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
    layers : OrderedDict 'Conv1', 'Relu1', 'Pool1', 'Affine1', 'Relu2', 'Affine2'.
    last_layer : SoftmaxWithLoss.
    """

    def __init__(self, input_dim=(1, 28, 28), conv_param=None, hidden_size=100, output_size=10,
                 weight_init_std=0.01, dtype=np.float64, rng=None, weight_decay_lambda=0.0):
        owner = type(self).__name__
        self.input_shape = _input_dim(owner, input_dim)
        self.conv_param = _conv_param(owner, conv_param or {})
        self.hidden_size = check_int(owner, "hidden_size", hidden_size)
        self._common_args(output_size, weight_init_std, weight_decay_lambda, dtype, rng)

        c, h, w = self.input_shape
        fn, fs = self.conv_param["filter_num"], self.conv_param["filter_size"]
        conv_hw = _conv_output(owner, "the convolution", (h, w), self.conv_param)
        pool_hw = _pool_output(owner, "the pooling", conv_hw)
        self._allocate_params({
            "W1": (fn, c, fs, fs), "b1": (fn,),
            "W2": (fn * pool_hw[0] * pool_hw[1], self.hidden_size), "b2": (self.hidden_size,),
            "W3": (self.hidden_size, self.output_size), "b3": (self.output_size,),
        })
        self.init_weights()

        p = self.params
        # The input is data: nobody needs its gradient.
        conv = Convolution(p["W1"], p["b1"], self.conv_param["stride"], self.conv_param["pad"], input_grad=False)
        self._add("Conv1", conv, {"W1": "W", "b1": "b"})
        self._add("Relu1", Relu(), {})
        self._add("Pool1", Pooling(2, 2, stride=2), {})
        self._add("Affine1", Affine(p["W2"], p["b2"]), {"W2": "W", "b2": "b"})
        self._add("Relu2", Relu(), {})
        self._add("Affine2", Affine(p["W3"], p["b3"]), {"W3": "W", "b3": "b"})
        self.last_layer = SoftmaxWithLoss()


class DeepConvNet(_ConvNetBase):
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
    weight_init_std : 'relu'/'he' (default, ``sqrt(2/fan_in)``), 'sigmoid'/'xavier'
        or a positive number.
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
    layers : OrderedDict 'Conv1', 'Relu1', 'Conv2', 'Relu2', 'Pool1', ..., 'Affine1',
        'Relu7', 'Dropout1', 'Affine2', 'Dropout2'.
    """

    def __init__(self, input_dim=(1, 28, 28), conv_params=DEEP_CONV_PARAMS, hidden_size=50, output_size=10,
                 dropout_ratio=0.5, weight_init_std="he", weight_decay_lambda=0.0, dtype=np.float64, rng=None):
        owner = type(self).__name__
        self.input_shape = _input_dim(owner, input_dim)
        conv_params = [_conv_param(owner, p) for p in conv_params]
        if not conv_params or len(conv_params) % 2:
            raise ValueError(f"{owner}: conv_params must hold an even number >= 2 of dicts, got {len(conv_params)}")
        self.conv_params = conv_params
        self.hidden_size = check_int(owner, "hidden_size", hidden_size)
        ratio = float(dropout_ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"{owner}: dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        self.dropout_ratio = ratio
        self._common_args(output_size, weight_init_std, weight_decay_lambda, dtype, rng)

        channels, hw = self.input_shape[0], self.input_shape[1:]
        shapes = {}
        for i, p in enumerate(conv_params, start=1):
            hw = _conv_output(owner, f"convolution {i}", hw, p)
            if i % 2 == 0:
                hw = _pool_output(owner, f"pooling {i // 2}", hw)
            fn, fs = p["filter_num"], p["filter_size"]
            shapes[f"W{i}"] = (fn, channels, fs, fs)
            shapes[f"b{i}"] = (fn,)
            channels = fn
        n_conv = len(conv_params)
        sizes = [(channels * hw[0] * hw[1], self.hidden_size), (self.hidden_size, self.output_size)]
        for i, (d_in, d_out) in enumerate(sizes, start=n_conv + 1):
            shapes[f"W{i}"] = (d_in, d_out)
            shapes[f"b{i}"] = (d_out,)
        self._allocate_params(shapes)
        self.init_weights()

        prm = self.params
        for i, p in enumerate(conv_params, start=1):
            conv = Convolution(prm[f"W{i}"], prm[f"b{i}"], p["stride"], p["pad"], input_grad=i > 1)
            self._add(f"Conv{i}", conv, {f"W{i}": "W", f"b{i}": "b"})
            self._add(f"Relu{i}", Relu(), {})
            if i % 2 == 0:
                self._add(f"Pool{i // 2}", Pooling(2, 2, stride=2), {})
        h1, h2 = n_conv + 1, n_conv + 2
        self._add("Affine1", Affine(prm[f"W{h1}"], prm[f"b{h1}"]), {f"W{h1}": "W", f"b{h1}": "b"})
        self._add(f"Relu{h1}", Relu(), {})
        self._add("Dropout1", Dropout(self.dropout_ratio, rng=self.rng), {})
        self._add("Affine2", Affine(prm[f"W{h2}"], prm[f"b{h2}"]), {f"W{h2}": "W", f"b{h2}": "b"})
        self._add("Dropout2", Dropout(self.dropout_ratio, rng=self.rng), {})
        self.last_layer = SoftmaxWithLoss()
