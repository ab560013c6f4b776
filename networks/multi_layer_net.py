"""A fully connected network of any depth, chained from layer objects."""

from collections import OrderedDict

import numpy as np

from bprop.layers import (
    Affine,
    BatchNormalization,
    Dropout,
    IdentityWithLoss,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
    make_rng,
)

from bprop.layers.checks import check_int

from .base import Net

ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid, "tanh": Tanh}
LOSSES = {"softmax": SoftmaxWithLoss, "identity": IdentityWithLoss}


def init_scale(weight_init_std, fan_in):
    """Standard deviation of the Gaussian initial weights of a layer with ``fan_in`` inputs.

    ``'relu'`` / ``'he'``: ``sqrt(2 / fan_in)`` (He et al., 2015), which keeps the
    variance of ReLU activations constant through depth; ``'sigmoid'`` / ``'xavier'``:
    ``sqrt(1 / fan_in)`` (Glorot and Bengio, 2010, in its fan-in form); a positive
    number is used as it is.
    """
    if isinstance(weight_init_std, str):
        key = weight_init_std.lower()
        if key in ("relu", "he"):
            return np.sqrt(2.0 / fan_in)
        if key in ("sigmoid", "xavier", "tanh"):
            return np.sqrt(1.0 / fan_in)
        raise ValueError(
            f"weight_init_std: unknown name {weight_init_std!r}; use 'relu'/'he', "
            "'sigmoid'/'xavier' or a positive number"
        )
    std = float(weight_init_std)
    if not std > 0 or not np.isfinite(std):
        raise ValueError(f"weight_init_std must be a positive number or a name, got {weight_init_std!r}")
    return std


class MultiLayerNet(Net):
    """Fully connected network: (Affine [-> BatchNorm] -> activation [-> Dropout]) x L -> Affine -> loss.

    Parameters
    ----------
    input_size : int, features per sample (784 for MNIST).
    hidden_size_list : list of int, the width of each hidden layer (may be empty:
        a linear softmax classifier).
    output_size : int, number of classes (or regression outputs).
    activation : 'relu' | 'sigmoid' | 'tanh'.
    weight_init_std : 'relu'/'he' (sqrt(2/fan_in)), 'sigmoid'/'xavier' (sqrt(1/fan_in))
        or a positive number, the std of the Gaussian weights; biases start at 0.
    weight_decay_lambda : float >= 0, L2 penalty ``0.5 * lambda * sum(W**2)``.
    use_batchnorm : bool, a BatchNormalization after each hidden Affine.
    use_dropout : bool, a Dropout(dropout_ratio) after each hidden activation.
    dtype : np.float64 or np.float32; every parameter, activation and gradient has it.
    rng : None, int or np.random.Generator, for the weights and dropout masks.
    loss : 'softmax' (SoftmaxWithLoss, classification) or 'identity' (IdentityWithLoss).

    Attributes
    ----------
    params : dict 'W1', 'b1', ... (and 'gamma1', 'beta1', ... with batchnorm).
    layers : OrderedDict 'Affine1', 'Relu1', ..., the layers referencing ``params``.
    last_layer : the loss layer.
    """

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu",
                 weight_init_std="relu", weight_decay_lambda=0.0, use_batchnorm=False,
                 use_dropout=False, dropout_ratio=0.5, dtype=np.float64, rng=None,
                 loss="softmax"):
        hidden_size_list = list(hidden_size_list)
        for name, size in [("input_size", input_size), ("output_size", output_size)] + [
            (f"hidden_size_list[{i}]", s) for i, s in enumerate(hidden_size_list)
        ]:
            check_int("MultiLayerNet", name, size)
        if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
            raise ValueError(
                f"MultiLayerNet: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
            )
        if not isinstance(loss, str) or loss.lower() not in LOSSES:
            raise ValueError(f"MultiLayerNet: unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
        lam = float(weight_decay_lambda)
        if not lam >= 0 or not np.isfinite(lam):
            raise ValueError(f"MultiLayerNet: weight_decay_lambda must be >= 0, got {weight_decay_lambda!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"MultiLayerNet: dtype must be float32 or float64, got {dtype}")
        init_scale(weight_init_std, 1)  # validates the name or number early
        if use_dropout and not 0.0 <= float(dropout_ratio) < 1.0:
            raise ValueError(f"MultiLayerNet: dropout_ratio must be in [0, 1), got {dropout_ratio!r}")

        self.input_size = int(input_size)
        self.input_shape = (self.input_size,)
        self.hidden_size_list = [int(s) for s in hidden_size_list]
        self.output_size = int(output_size)
        self.activation = activation.lower()
        self.weight_init_std = weight_init_std
        self.weight_decay_lambda = lam
        self.use_batchnorm = bool(use_batchnorm)
        self.use_dropout = bool(use_dropout)
        self.dropout_ratio = float(dropout_ratio)
        self.dtype = dtype
        self.rng = make_rng(rng)

        sizes = [self.input_size] + self.hidden_size_list + [self.output_size]
        shapes = {}
        for i in range(1, len(sizes)):
            shapes[f"W{i}"] = (sizes[i - 1], sizes[i])
            shapes[f"b{i}"] = (sizes[i],)
            if self.use_batchnorm and i < len(sizes) - 1:
                shapes[f"gamma{i}"] = (sizes[i],)
                shapes[f"beta{i}"] = (sizes[i],)
        self._allocate_params(shapes)
        self.init_weights()

        act = ACTIVATIONS[self.activation]
        self.layers = OrderedDict()
        self._param_refs = {}
        n_affine = len(sizes) - 1
        for i in range(1, n_affine + 1):
            # The first layer's input is data: no one needs its gradient.
            affine = Affine(self.params[f"W{i}"], self.params[f"b{i}"], input_grad=i > 1)
            self._add(f"Affine{i}", affine, {f"W{i}": "W", f"b{i}": "b"})
            if i == n_affine:
                break
            if self.use_batchnorm:
                bn = BatchNormalization(self.params[f"gamma{i}"], self.params[f"beta{i}"])
                self._add(f"BatchNorm{i}", bn, {f"gamma{i}": "gamma", f"beta{i}": "beta"})
            self._add(f"{act.__name__}{i}", act(), {})
            if self.use_dropout:
                self._add(f"Dropout{i}", Dropout(self.dropout_ratio, rng=self.rng), {})
        self.last_layer = LOSSES[loss.lower()]()

    def init_weights(self, rng=None):
        """(Re)draw every weight in place: ``W ~ N(0, s**2)`` with ``s`` from
        :func:`init_scale` (fan_in = rows of W), zero biases, gamma 1 and beta 0.

        In place, so layers and optimizers keep referring to the same arrays.
        """
        rng = self.rng if rng is None else make_rng(rng)
        for k, p in self.params.items():
            if k.startswith("W"):
                scale = init_scale(self.weight_init_std, p.shape[0])
                p[...] = rng.standard_normal(p.shape, dtype=self.dtype) * self.dtype.type(scale)
            elif k.startswith("gamma"):
                p[...] = 1
            else:
                p[...] = 0


class TwoLayerNet(MultiLayerNet):
    """The first article's network: input -> Affine -> Sigmoid -> Affine -> softmax loss.

    Weights start as ``weight_init_std * N(0, 1)`` (0.01 by default), biases at 0;
    everything else is :class:`MultiLayerNet` with one sigmoid hidden layer.
    """

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01,
                 dtype=np.float64, rng=None):
        super().__init__(input_size, [hidden_size], output_size, activation="sigmoid",
                         weight_init_std=weight_init_std, dtype=dtype, rng=rng)
