"""A network's weights in and out: ``state_dict``, ``load_state_dict`` and the weights file.

:class:`StateDictMixin` gives a network with ``params`` (its learnable arrays by key) and
``layers`` (an OrderedDict of named layers, each with ``buffers()``) the methods that read
and write all of its arrays: as one flat mapping (:meth:`~StateDictMixin.state_dict`), and
as an ``.npz`` file written atomically and verified (:mod:`bprop.networks.files`). Every
array is checked before any array of the network changes.
"""

import os
from collections import OrderedDict

import numpy as np

from .files import NpzFileError, load_npz, save_npz


def _non_finite(array):
    """``(count, index)``: how many values of ``array`` are NaN or inf, and the index of the
    first one in C order (``(0, ())`` when all are finite)."""
    finite = np.isfinite(array)
    if finite.all():
        return 0, ()
    bad = np.flatnonzero(~finite)
    return bad.size, tuple(int(i) for i in np.unravel_index(bad[0], array.shape))


class StateDictMixin:
    """``state_dict``, ``load_state_dict``, ``save_params`` and ``load_params`` for a network
    with ``params`` and ``layers`` (see the module docstring)."""

    def state_dict(self):
        """Every array needed to restore the net, as one flat mapping.

        The ``params`` keys (``'W1'``, ...) and, for each layer's non-learnable arrays,
        ``'<layer name>.<array>'`` (``'BatchNorm1.running_mean'``). The arrays are the
        network's own, not copies.
        """
        out = OrderedDict(self.params)
        for name, layer in self.layers.items():
            for key, arr in layer.buffers().items():
                out[f"{name}.{key}"] = arr
        return out

    def load_state_dict(self, state, source="state_dict"):
        """Copy the arrays of ``state`` (as :meth:`state_dict` returns) into this network.

        Everything is checked before anything changes: the keys must be exactly this
        network's, and every array must have the shape of its counterpart, a
        floating-point dtype, and only finite values, both as given and once cast to
        the network's dtype (``1e300`` does not fit a float32 network). A failure
        raises a ValueError naming ``source``, the key and what is wrong; the network
        is then untouched.
        """
        target = self.state_dict()
        missing = [k for k in target if k not in state]
        extra = [k for k in state if k not in target]
        if missing or extra:
            raise ValueError(f"load_state_dict: {source} does not fit this network: "
                             f"missing keys {missing}, unexpected keys {extra}")
        checked = {}
        for key, arr in target.items():
            value = np.asarray(state[key])
            if value.shape != arr.shape:
                raise ValueError(f"load_state_dict: key {key!r} has shape {value.shape} in {source}, "
                                 f"but this network's {key} has shape {arr.shape}")
            if value.dtype.kind != "f":
                raise ValueError(f"load_state_dict: key {key!r} has dtype {value.dtype} in {source}, "
                                 "expected floating-point numbers")
            bad, first = _non_finite(value)
            if bad:
                raise ValueError(f"load_state_dict: key {key!r} in {source} holds {bad} non-finite "
                                 f"value(s), the first {value[first]} at index {first}")
            with np.errstate(over="ignore"):  # an overflow is reported below, not warned about
                stored = value.astype(arr.dtype, copy=False)
            bad, first = _non_finite(stored)
            if bad:
                raise ValueError(f"load_state_dict: key {key!r} in {source} holds {bad} value(s) too large "
                                 f"for this {arr.dtype} network, the first {value[first]} at index {first} "
                                 f"(the largest {arr.dtype} is {float(np.finfo(arr.dtype).max):.3g})")
            checked[key] = stored
        for key, arr in target.items():
            arr[...] = checked[key]

    def save_params(self, path):
        """Write :meth:`state_dict` to ``path`` as ``.npz``, atomically and verified
        (see :mod:`bprop.networks.files`): an interrupted save never leaves a broken file.

        A network holding NaN or inf (one that diverged) is refused with a ValueError
        naming the key, before anything is written: :meth:`load_params` could not read
        such a file back.
        """
        state = self.state_dict()
        for key, arr in state.items():
            bad, first = _non_finite(arr)
            if bad:
                raise ValueError(f"{type(self).__name__}.save_params: key {key!r} holds {bad} non-finite "
                                 f"value(s), the first {arr[first]} at index {first}; "
                                 f"nothing was written to {os.fspath(path)}")
        save_npz(path, state)

    def load_params(self, path):
        """Read a file written by :meth:`save_params` into this network, in place,
        with every check of :meth:`load_state_dict` done before anything changes.

        Raises
        ------
        FileNotFoundError
            If nothing is at ``path``.
        NpzFileError (a ValueError)
            If ``path`` is not an ``.npz`` file of arrays (a text file, a pickle, a
            lone ``.npy``, a zip cut short, an empty file, a folder, ...), or is a
            training checkpoint rather than a weights file; the message names the file
            and says what it is.
        ValueError
            If the arrays do not fit this network (a key, shape, dtype, or a value that
            is not finite as given or once cast to the network's dtype).
        """
        source = os.fspath(path)
        state = load_npz(source)
        if "meta" in state and not any(key in state for key in self.params):
            raise NpzFileError(f"{source} is a bprop training checkpoint, not a weights file of "
                               "save_params: a Trainer resumes from it")
        self.load_state_dict(state, source=source)
