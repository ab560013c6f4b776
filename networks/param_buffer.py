"""The one place a network's parameters and gradients are laid out: two flat buffers.

:class:`ParamBuffer` moves every parameter of a chain of layers into one contiguous buffer
(a :class:`~bprop.networks.flat_params.FlatParams`, keys ``'W1'``, ``'b1'``, ``'W2'``, ...
numbered per attribute name in layer order) and binds a gradient buffer of the same layout
beside it: each layer then holds views of the two buffers, reads its parameters from the
first and writes its gradients into the second. An optimizer updating ``params`` in place
updates the layers, and one that sees ``flat`` on both dicts updates every parameter with a
few whole-buffer operations.

The layers inside a container (a residual block, the branches of a concatenation, the two
directions of a bidirectional LSTM) are reached through :meth:`~bprop.layers.Layer.walk`,
depth-first, and numbered as if they stood in the chain one after the other: a
``Residual([Affine, Relu, Affine])`` between two Affines holds ``'W2'`` and ``'W3'``, the
keys its Affines get in the plain chain of the same four. So every key of a saved file has
one form, ``<attribute><number>``, however the layers are nested.
"""

from collections import OrderedDict

import numpy as np

from .flat_params import FlatParams


class ParamBuffer:
    """The parameters of ``layers`` in one buffer, their gradients in a second one.

    Parameters
    ----------
    layers : iterable of layers, in the order of the chain; the layers inside each one
        (:meth:`~bprop.layers.Layer.walk`) follow it.
    dtype : the dtype of both buffers (each parameter is cast to it).

    Attributes
    ----------
    params : FlatParams ``{'W1': array, ...}``; each layer's attribute is the same array.
    grads : FlatParams of the same layout, into which each layer writes its gradients.
    owners : dict ``{key: (layer, attribute name)}``.
    decay_keys : list of the keys of the parameters their layers list in ``decay_names``.
    """

    def __init__(self, layers, dtype):
        counts, shapes, owned = {}, OrderedDict(), []
        for layer in (inner for top in layers for inner in top.walk()):
            refs = {}
            for attr in layer.param_names:
                counts[attr] = counts.get(attr, 0) + 1
                key = f"{attr}{counts[attr]}"
                shapes[key] = np.shape(getattr(layer, attr))
                refs[key] = attr
            owned.append((layer, refs))
        self.params = FlatParams.allocate(shapes, dtype)
        self.grads = self.params.like()
        self.owners = {}
        self.decay_keys = []
        for layer, refs in owned:
            layer.bind_params({attr: self.params[key] for key, attr in refs.items()})
            layer.bind_grad_buffers({attr: self.grads[key] for key, attr in refs.items()})
            for key, attr in refs.items():
                self.owners[key] = (layer, attr)
                if attr in layer.decay_names:
                    self.decay_keys.append(key)

    def gather_grads(self):
        """:attr:`grads` after a backward pass, every gradient in the buffer: a layer that
        allocates its gradient rather than writing into its view has it copied in (the dict
        and its arrays are reused by the next pass)."""
        grads = self.grads
        for key, (layer, attr) in self.owners.items():
            g = getattr(layer, "d" + attr)
            if g is not grads[key]:
                grads[key] = g  # a layer that allocates its gradient: copied into the buffer
        return grads
