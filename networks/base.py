"""What every bprop network shares: forward, loss, gradients, accuracy, saving, summary."""

import os
import tempfile

import numpy as np

from bprop.layers import BatchNormalization, numerical_gradient
from bprop.layers.functional import check_targets

from .flat_params import FlatParams


class Net:
    """What every network in bprop shares, given ``params``, ``layers`` and ``last_layer``.

    A subclass sets ``self.dtype``, ``self.input_shape`` (one sample's shape),
    ``self.output_size`` and ``self.weight_decay_lambda``; creates its parameters with
    :meth:`_allocate_params` (or sets ``self.params`` to a plain dict of arrays, which
    works too, without the one-buffer speed-up); starts ``self.layers = OrderedDict()``
    and ``self._param_refs = {}``, adds each layer with :meth:`_add` (which records
    which ``params`` key is which layer attribute), and sets ``self.last_layer``.
    """

    #: key prefixes of the parameters that weight decay applies to
    decay_prefixes = ("W",)

    weight_decay_lambda = 0.0

    def _allocate_params(self, shapes):
        """Set ``self.params`` to zero arrays of ``shapes`` (ordered key -> shape), all
        views of one buffer, and a gradient buffer of the same layout (see
        :mod:`networks.flat_params`). Call before building the layers."""
        self.params = FlatParams.allocate(shapes, self.dtype)
        self._grads = self.params.like()
        self._grads_buffer = self._grads.flat

    def _add(self, name, layer, refs):
        """Append ``layer`` as ``name``; ``refs`` maps params keys to the layer's attribute names."""
        if name in self.layers:
            raise ValueError(f"{type(self).__name__}: two layers named {name!r}")
        self.layers[name] = layer
        for key, attr in refs.items():
            self._param_refs[key] = (layer, attr)
        grads = getattr(self, "_grads", None)
        if refs and grads is not None:
            layer.bind_grad_buffers({attr: grads[key] for key, attr in refs.items()})

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
        mode, and a dict with exactly the keys of ``params``. The dict and its arrays
        (views of one buffer) are reused by the next call, which overwrites them as
        PyTorch overwrites ``.grad``: copy them to keep them.
        """
        loss = self.loss(x, t, train=True)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        flat = getattr(self, "_grads", None)
        if flat is not None and getattr(self.params, "flat", None) is not None:
            if flat.flat is None:  # the caller replaced an entry of the dict we returned
                flat = self._grads = FlatParams(self._grads_buffer, self.params.layout)
            for k, (layer, attr) in self._param_refs.items():
                g = getattr(layer, "d" + attr)
                if g is not flat[k]:
                    flat[k][...] = g  # a layer that does not write into bound buffers
            grads = flat
        else:
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

    def gradient_check(self, x, t, h=1e-5):
        """Backprop and numerical gradients of one batch, from one and the same state.

        Returns ``(analytic, numeric)``, two dicts with the keys of ``params`` (copies),
        ready for :func:`layers.gradcheck.assert_gradients_close`. Dropout masks and
        batch-norm statistics are reset in between, so the two see the same network.
        """
        state = self.state()
        analytic = {k: g.copy() for k, g in self.gradient(x, t).items()}
        self.set_state(state)
        return analytic, self.numerical_gradient(x, t, h)

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
