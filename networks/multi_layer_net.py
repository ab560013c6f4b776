"""A fully connected network of any depth, chained from layer objects."""

import os
import tempfile
from collections import OrderedDict

import numpy as np

from layers import (
    Affine,
    BatchNormalization,
    Dropout,
    IdentityWithLoss,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
    make_rng,
    numerical_gradient,
)
from layers.functional import check_targets

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


class Net:
    """What every network in bprop shares, given ``params``, ``layers`` and ``last_layer``.

    Subclasses build ``self.params`` (dict of arrays), ``self.layers`` (OrderedDict of
    layers holding those very arrays), ``self.last_layer`` (a loss layer), ``self.dtype``
    and ``self._param_refs`` (param key -> (layer, attribute name)).
    """

    #: key prefixes of the parameters that weight decay applies to
    decay_prefixes = ("W",)

    weight_decay_lambda = 0.0

    # --- forward ---------------------------------------------------------------
    def _as_input(self, x):
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    def predict(self, x, train=False):
        """Scores before the loss layer. x : (N, ...) -> (N, output_size)."""
        x = self._as_input(x)
        for layer in self.layers.values():
            x = layer.forward(x, train)
        return x

    def _decay_keys(self):
        return [k for k in self.params if k.rstrip("0123456789") in self.decay_prefixes]

    def _weight_decay_loss(self):
        lam = self.weight_decay_lambda
        if lam == 0.0:
            return 0.0
        return 0.5 * lam * sum(float(np.vdot(self.params[k], self.params[k])) for k in self._decay_keys())

    def loss(self, x, t, train=False):
        """Data loss plus ``0.5 * lambda * sum(W**2)`` over all weight matrices."""
        y = self.predict(x, train)
        return self.last_layer.forward(y, t) + self._weight_decay_loss()

    # --- gradients -------------------------------------------------------------
    def loss_and_gradient(self, x, t):
        """One training-mode forward pass and one backward pass.

        Returns ``(loss, grads)``: the loss as :meth:`loss` computes it in training
        mode, and a dict with exactly the keys of ``params``.
        """
        loss = self.loss(x, t, train=True)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {k: getattr(layer, "d" + attr) for k, (layer, attr) in self._param_refs.items()}
        lam = self.weight_decay_lambda
        if lam != 0.0:
            for k in self._decay_keys():
                grads[k] += lam * self.params[k]
        return loss, grads

    def gradient(self, x, t):
        """Backprop gradients of :meth:`loss` (training mode) for every key of ``params``."""
        return self.loss_and_gradient(x, t)[1]

    def state(self):
        """Non-learnable layer state (running statistics, dropout streams), copied."""
        return {name: layer.state() for name, layer in self.layers.items()}

    def set_state(self, state):
        for name, layer in self.layers.items():
            layer.set_state(state[name])

    def numerical_gradient(self, x, t, h=1e-4):
        """Central-difference gradients of :meth:`loss` in training mode, same keys as ``params``.

        Layer state is reset before every evaluation to what it was on entry, so the
        result matches :meth:`gradient` called from that same state (same dropout
        masks; running statistics untouched). Slow: two passes per parameter element.
        """
        x = self._as_input(x)
        state = self.state()

        def f():
            self.set_state(state)
            return self.loss(x, t, train=True)

        grads = {k: numerical_gradient(f, p, h) for k, p in self.params.items()}
        self.set_state(state)
        return grads

    # --- evaluation ------------------------------------------------------------
    def accuracy(self, x, t, batch_size=1000):
        """Fraction of samples whose largest score is the true class.

        ``t`` is labels (N,) or one-hot (N, C). Evaluates in batches of ``batch_size``
        so a whole dataset never builds one huge activation.
        """
        x = np.asarray(x)
        n = x.shape[0] if x.ndim else 0
        if n == 0:
            raise ValueError(f"accuracy: empty batch, x has shape {x.shape}")
        if batch_size < 1:
            raise ValueError(f"accuracy: batch_size must be >= 1, got {batch_size}")
        t, is_index = check_targets("accuracy", t, n, self.output_size)
        if not is_index:
            t = np.argmax(t, axis=1)
        correct = 0
        for i in range(0, n, batch_size):
            y = self.predict(x[i:i + batch_size], train=False)
            correct += int(np.count_nonzero(np.argmax(y, axis=1) == t[i:i + batch_size]))
        return correct / n

    # --- saving ------------------------------------------------------------------
    def state_dict(self):
        """Every array needed to restore the net: ``params`` plus running statistics."""
        out = dict(self.params)
        for name, layer in self.layers.items():
            if isinstance(layer, BatchNormalization):
                out[f"{name}.running_mean"] = layer.running_mean
                out[f"{name}.running_var"] = layer.running_var
        return out

    def save_params(self, path):
        """Write :meth:`state_dict` to ``path`` as ``.npz``, atomically.

        The arrays go to a temporary file beside ``path``, which is read back and
        compared before it is renamed over ``path``: an interrupted save never leaves
        a broken file behind.
        """
        path = os.fspath(path)
        arrays = self.state_dict()
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            with np.load(tmp, allow_pickle=False) as back:
                if set(back.files) != set(arrays) or not all(
                    np.array_equal(back[k], v) for k, v in arrays.items()
                ):
                    raise OSError(f"save_params: {tmp} did not read back as written")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load_params(self, path):
        """Read arrays saved by :meth:`save_params` into this net, in place.

        Names and shapes must match exactly; a mismatch raises ValueError naming the
        key and both shapes, before anything is changed. Values are cast to the net's dtype.
        """
        with np.load(os.fspath(path), allow_pickle=False) as data:
            loaded = {k: data[k] for k in data.files}
        target = self.state_dict()
        missing = sorted(set(target) - set(loaded))
        extra = sorted(set(loaded) - set(target))
        if missing or extra:
            raise ValueError(
                f"load_params: {path} does not fit this network: missing keys {missing}, unexpected keys {extra}"
            )
        for k, arr in target.items():
            if loaded[k].shape != arr.shape:
                raise ValueError(
                    f"load_params: key {k!r} has shape {loaded[k].shape} in {path}, "
                    f"but this network's {k} has shape {arr.shape}"
                )
        for k, arr in target.items():
            arr[...] = loaded[k]

    # --- description -------------------------------------------------------------
    def n_params(self):
        return int(sum(p.size for p in self.params.values()))

    def summary(self):
        """A table of the layers, their output shapes and parameter counts."""
        rows = [("layer", "output shape", "params")]
        shape = (None,) + tuple(np.atleast_1d(self.input_shape))
        probe = np.zeros((2,) + shape[1:], dtype=self.dtype)
        state = self.state()
        for name, layer in self.layers.items():
            probe = layer.forward(probe, train=False)
            count = sum(p.size for p in layer.params().values())
            rows.append((f"{name}: {layer!r}", str((None,) + probe.shape[1:]), str(count)))
        self.set_state(state)
        rows.append((f"last_layer: {self.last_layer!r}", "", "0"))
        rows.append(("total", "", str(self.n_params())))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return "\n".join(lines)

    def __repr__(self):
        inner = "\n".join(f"  ({name}): {layer!r}" for name, layer in self.layers.items())
        return f"{type(self).__name__}(\n{inner}\n  (last_layer): {self.last_layer!r}\n)"


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
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"MultiLayerNet: {name} must be an integer >= 1, got {size!r}")
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
        self.params = {}
        for i in range(1, len(sizes)):
            self.params[f"W{i}"] = np.empty((sizes[i - 1], sizes[i]), dtype=dtype)
            self.params[f"b{i}"] = np.empty(sizes[i], dtype=dtype)
            if self.use_batchnorm and i < len(sizes) - 1:
                self.params[f"gamma{i}"] = np.empty(sizes[i], dtype=dtype)
                self.params[f"beta{i}"] = np.empty(sizes[i], dtype=dtype)
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

    def _add(self, name, layer, refs):
        if name in self.layers:
            raise ValueError(f"MultiLayerNet: two layers named {name!r}")
        self.layers[name] = layer
        for key, attr in refs.items():
            self._param_refs[key] = (layer, attr)

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
