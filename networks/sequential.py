"""Sequential: any stack of bprop layers as one network, as in the textbook's OrderedDict."""

from contextlib import nullcontext

import numpy as np

from bprop.layers import LOSSES, make_rng
from bprop.layers.checks import check_dtype
from bprop.layers.functional import check_targets
from bprop.layers.init import init_rule
from bprop.layers.parallel import chunk_threads

from .chain import check_layers, output_shapes
from .param_buffer import ParamBuffer
from .gradient_check import GradientCheckMixin
from .state_dict import StateDictMixin


class Sequential(GradientCheckMixin, StateDictMixin):
    """A network that chains layers: forward is a loop, backward the reversed loop.

    ``Sequential([Affine(784, 100), Relu(), Affine(100, 10)])`` is a complete,
    trainable MLP; so is a stack of convolutions, poolings and batch norms, given
    ``input_shape``. The loss layer is kept apart as ``last_layer``, as in the textbook.

    Parameters
    ----------
    layers : OrderedDict ``{name: layer}`` of uniquely named layers, or a list of layers,
        named by :func:`name_layers` (``Conv1``, ``Relu1``, ``Pool1``, ``Affine1``, ...).
    loss : a name of :data:`bprop.layers.LOSSES` ('softmax': :class:`SoftmaxWithLoss`,
        'identity': :class:`IdentityWithLoss`, any case) or a loss layer object (``forward(x, t)`` -> float, ``backward(dout=1.0)``).
    input_shape : one sample's shape, e.g. ``(1, 28, 28)``; may be left out when the
        first layer is an Affine (then it is ``(in_features,)``). Every layer's input
        shape is worked out from it when the network is built, and a layer that does
        not fit raises a ValueError naming the layer and both shapes.
    dtype : np.float64 (default) or np.float32, of every parameter and activation;
        the layers' arrays are cast to it.
    rng : None, int or np.random.Generator, for ``init``.
    init : None (default: keep the weights the layers have), or a name of
        :data:`bprop.layers.init.INITS` ('he', 'xavier', 'kaiming_uniform', 'torch_default',
        'orthogonal', ...), an activation's name, or a positive std: redraw every layer's
        parameters from ``rng``, in layer order, with the layer's own fans (see
        :mod:`bprop.layers.init`).
    weight_decay_lambda : float >= 0, L2 penalty ``0.5 * lambda * sum(W**2)`` on the
        parameters each layer lists in ``decay_names`` (weights, not biases or gammas).
    input_grad : bool, default False. Whether the first layer's backward computes the gradient
        with respect to the network's input. The input is data, so by default nobody needs
        it: the network sets ``input_grad = False`` on its first layer (an Affine or a
        Convolution), which skips one matrix product per step. Pass True to get it (an
        adversarial example, a saliency map): :meth:`backward` then returns it.

    Attributes
    ----------
    layers : OrderedDict of the layers; the first one skips the ``dx`` nobody uses.
    last_layer : the loss layer.
    params : dict ``'W1', 'b1', 'W2', ...``: each layer's parameters in layer order,
        numbered per parameter name (batch norm adds ``'gamma1', 'beta1'``). They are
        views of one contiguous buffer and the layers hold the same arrays, so an
        optimizer updating ``params`` in place updates the layers. Assigning
        ``params['W1'] = array`` writes into that buffer (shape must match); keys
        cannot be added or removed.
    shapes : OrderedDict ``{name: output shape of one sample}``.
    input_shape, output_shape, output_size, dtype, weight_decay_lambda.
    """

    def __init__(self, layers, loss="softmax", input_shape=None, dtype=np.float64, rng=None,
                 init=None, weight_decay_lambda=0.0, input_grad=False):
        owner = type(self).__name__
        layers = check_layers(owner, layers)
        self.layers = layers
        self._splits_work = any(layer.splits_work for layer in layers.values())  # see threads()
        self.last_layer = self._loss_layer(owner, loss)
        self.dtype = check_dtype(owner, dtype)
        lam = weight_decay_lambda
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating, np.integer)) \
                or not np.isfinite(lam) or lam < 0:
            raise ValueError(f"{owner}: weight_decay_lambda must be >= 0, got {lam!r}")
        self.weight_decay_lambda = float(lam)
        if init is not None:
            init_rule(init)  # checks the name or number before anything is built
        self.init = init
        self.rng = make_rng(rng)

        self.input_shape = self._first_input_shape(owner, input_shape)
        self.shapes = self._layer_shapes(owner)
        self.output_shape = next(reversed(self.shapes.values()))
        self.output_size = self.output_shape[-1] if self.output_shape else 1
        self._build_params()
        if init is not None:
            self.init_weights(init)
        first = next(iter(self.layers.values()))
        if hasattr(first, "input_grad"):  # see the parameter input_grad
            first.input_grad = bool(input_grad)

    # --- building --------------------------------------------------------------
    @staticmethod
    def _loss_layer(owner, loss):
        if isinstance(loss, str):
            return LOSSES.lookup(loss, owner=owner)()
        if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
            raise ValueError(f"{owner}: loss must be a name {sorted(LOSSES)} or a loss layer, got {loss!r}")
        return loss

    def _first_input_shape(self, owner, input_shape):
        if input_shape is None:
            first = next(iter(self.layers.values()))
            W = getattr(first, "W", None)
            if type(first).stem() != "Affine" or W is None:
                raise ValueError(f"{owner}: give input_shape (one sample's shape, e.g. (1, 28, 28)); "
                                 f"it can be left out only when the first layer is an Affine")
            return (W.shape[0],)
        shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
        if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
            raise ValueError(f"{owner}: input_shape must be a tuple of positive integers, got {input_shape!r}")
        return tuple(int(d) for d in shape)

    def _layer_shapes(self, owner):
        """``{name: one sample's output shape}``, checking that each layer fits the one before.

        A network whose layers are not one chain (an encoder and a decoder) overrides this.
        """
        return output_shapes(self.layers, self.input_shape, owner)

    def _build_params(self):
        """Move every layer's parameters into one buffer and bind a gradient buffer beside it
        (:class:`~bprop.networks.param_buffer.ParamBuffer`); cast the layers' other saved
        arrays (running statistics) to the network's dtype."""
        self._buffers = ParamBuffer(self.layers.values(), self.dtype)
        self.params, self._decay_keys = self._buffers.params, self._buffers.decay_keys
        for layer in self.walk():
            for name in layer.buffer_names:
                setattr(layer, name, np.array(getattr(layer, name), dtype=self.dtype))

    def walk(self):
        """Every layer of the network, each of its own followed by the layers inside it
        (:meth:`bprop.layers.Layer.walk`); the loss layer is not one of them."""
        for layer in self.layers.values():
            yield from layer.walk()

    def init_weights(self, init=None, rng=None):
        """(Re)draw every parameter in place, layer by layer, from ``rng`` (default: the
        network's): weights and biases as ``init`` says (default: the one given to the
        constructor, else 'he') with each layer's fans (biases 0 unless ``init`` draws
        them, as 'torch_default' does); gamma 1, beta 0.
        """
        init = init if init is not None else (self.init if self.init is not None else "he")
        rng = self.rng if rng is None else make_rng(rng)
        for layer in self.layers.values():
            layer.reset_parameters(init, rng)

    @property
    def decay_keys(self):
        """The keys of ``params`` whose layers list them in ``decay_names`` (the weights, not
        the biases or the normalisations' gamma and beta): what weight decay applies to."""
        return list(self._decay_keys)

    # --- forward ---------------------------------------------------------------
    def _as_input(self, x):
        x = np.asarray(x)
        if x.dtype.kind in "iu" and getattr(next(iter(self.layers.values())), "integer_input", False):
            return x  # token ids stay integers
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        # Flat rows (N, 784) are accepted for images (N, 1, 28, 28).
        if x.ndim == 2 and len(self.input_shape) > 1 and x.shape[1] == int(np.prod(self.input_shape)):
            x = x.reshape((x.shape[0],) + self.input_shape)
        return x

    def threads(self):
        """The context each forward and backward runs in: :func:`~bprop.layers.parallel.chunk_threads`
        when a layer splits its work over threads itself (convolution, pooling), else none."""
        return chunk_threads() if self._splits_work else nullcontext()

    def predict(self, x, train=False):
        """Scores before the loss layer. x : (N, *input_shape) -> (N, *output_shape)."""
        x = self._as_input(x)
        with self.threads():
            for layer in self.layers.values():
                x = layer.forward(x, train)
        return x

    def _weight_decay_loss(self):
        lam = self.weight_decay_lambda
        if lam == 0.0:
            return 0.0
        return 0.5 * lam * sum(float(np.vdot(self.params[k], self.params[k])) for k in self._decay_keys)

    def loss(self, x, t, train=False):
        """Data loss plus ``0.5 * lambda * sum(W**2)`` over the decayed parameters."""
        y = self._scores = self.predict(x, train)
        return self.last_layer.forward(y, t) + self._weight_decay_loss()

    # --- what the Trainer asks of a model ----------------------------------------
    def scores(self):
        """The scores (before the loss layer) of the last :meth:`loss` call, which metrics
        such as accuracy read instead of making a second forward pass."""
        return self._scores

    @property
    def default_metrics(self):
        """What the Trainer evaluates unless told otherwise: the loss layer's choice
        (loss and accuracy for softmax, loss and mean squared error for identity)."""
        return getattr(self.last_layer, "default_metrics", ("loss",))

    def n_predictions(self, x, t):
        """How many predictions the mean loss of a batch averages over: one per sample."""
        return len(x)

    @property
    def min_batch_size(self):
        """The fewest samples a training batch may hold: 2 with batch normalization (one
        sample has no variance to normalise by), else 1; the layers say it."""
        return max(getattr(layer, "min_batch_size", 1) for layer in self.layers.values())

    # --- gradients -------------------------------------------------------------
    def loss_and_gradient(self, x, t):
        """One training-mode forward pass and one backward pass.

        Returns ``(loss, grads)``: the loss as :meth:`loss` computes it in training
        mode, and a dict with exactly the keys of ``params``. The dict and its arrays
        (views of one buffer) are reused by the next call, which overwrites them as
        PyTorch overwrites ``.grad``: copy them to keep them.
        """
        loss = self.loss(x, t, train=True)
        self.backward(self.last_layer.backward(1.0))
        grads = self._buffers.gather_grads()
        lam = self.weight_decay_lambda
        if lam != 0.0:
            for key in self._decay_keys:
                grads[key] += lam * self.params[key]
        return loss, grads

    def backward(self, dout):
        """The reversed loop: ``dout``, the gradient of the loss with respect to the scores
        :meth:`predict` returned, goes back through every layer, and each layer keeps the
        gradients of its parameters (which :meth:`loss_and_gradient` collects)."""
        with self.threads():
            for layer in reversed(self.layers.values()):
                dout = layer.backward(dout)
        return dout  # the gradient with respect to the input, with input_grad=True (else None)

    def gradient(self, x, t):
        """Backprop gradients of :meth:`loss` (training mode) for every key of ``params``."""
        return self.loss_and_gradient(x, t)[1]

    def state(self):
        """Non-learnable layer state (running statistics, dropout streams), copied."""
        return {name: layer.state() for name, layer in self.layers.items()}

    def set_state(self, state):
        for name, layer in self.layers.items():
            layer.set_state(state[name])

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
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"accuracy: batch_size must be an integer >= 1, got {batch_size!r}")
        t, is_index = check_targets("accuracy", t, n, self.output_size)
        if not is_index:
            t = np.argmax(t, axis=1)
        correct = 0
        for i in range(0, n, batch_size):
            y = self.predict(x[i:i + batch_size], train=False)
            correct += int(np.count_nonzero(np.argmax(y, axis=1) == t[i:i + batch_size]))
        return correct / n

    # --- description -------------------------------------------------------------
    def n_params(self):
        return int(sum(p.size for p in self.params.values()))

    def summary(self):
        """A table of the layers, their output shapes and parameter counts."""
        rows = [("layer", "output shape", "params"), ("input", str((None,) + self.input_shape), "")]
        for name, layer in self.layers.items():
            count = sum(int(np.size(p)) for p in layer.params().values())
            rows.append((f"{name}: {layer!r}", str((None,) + self.shapes[name]), str(count)))
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
