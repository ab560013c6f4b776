"""A layer built from other layers: what a residual block, a concatenation of branches and a
bidirectional LSTM share.

A container does its work by calling named sublayers. To a network it is one layer; the
parameters stay with the sublayers, which the network reaches through
:meth:`~bprop.layers.Layer.walk` and binds to its buffers as it binds any other layer's.
"""

from collections import OrderedDict

from .base import Layer


def check_sublayers(owner, layers):
    """Raise a ValueError naming ``owner`` unless ``layers`` (a mapping ``{name: layer}``)
    has non-empty string names, holds only bprop layers, and holds no layer object twice,
    also inside containers (:meth:`~bprop.layers.Layer.walk`): one object in two places would
    share one forward cache between them."""
    seen = {}
    for name, layer in layers.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{owner}: layer names must be non-empty strings, got {name!r}")
        if not isinstance(layer, Layer):
            raise ValueError(f"{owner}: layer {name!r} is not a bprop layer: {layer!r}")
        for inner in layer.walk():
            place = repr(name) if inner is layer else f"{inner!r} inside {name!r}"
            if id(inner) in seen:
                raise ValueError(f"{owner}: layer {place} is the same object as {seen[id(inner)]}; "
                                 "create a new layer for each place")
            seen[id(inner)] = place


class Container(Layer):
    """A layer whose work is done by named sublayers (an OrderedDict ``{name: layer}``).

    What a network asks of a layer's arrays is answered by the sublayers, in their order:

    - the network binds each sublayer's own parameters to its buffers, found through
      :meth:`walk` (a container has no parameters of its own);
    - :meth:`params`, :meth:`grads` and :meth:`buffers` list the sublayers' arrays under
      dotted paths, ``'block.Affine1.W'``, ``'block.BatchNorm1.running_mean'``; a network's
      state dict so names a nested running mean ``'Residual1.block.BatchNorm1.running_mean'``;
    - :meth:`state`, :meth:`set_state` and :meth:`reset_parameters` go to each sublayer in
      turn, so an ``init`` draws the weights in the order of the flat chain;
    - ``splits_work`` and ``min_batch_size`` are those of the sublayers.

    Subclasses write ``forward`` and ``backward`` as their formula, calling the sublayers.

    Parameters
    ----------
    sublayers : mapping ``{name: layer}``, checked by :func:`check_sublayers`.
    """

    def __init__(self, sublayers):
        sublayers = OrderedDict(sublayers)
        check_sublayers(self.name, sublayers)
        self._sublayers = sublayers
        # a network runs its passes in chunk_threads() when any layer inside splits its work
        self.splits_work = any(inner.splits_work for layer in sublayers.values() for inner in layer.walk())

    def sublayers(self):
        return OrderedDict(self._sublayers)

    @property
    def min_batch_size(self):
        """The fewest samples a training batch may hold: the largest a sublayer asks for."""
        return max(getattr(layer, "min_batch_size", 1) for layer in self._sublayers.values())

    def _nested(self, method):
        """``{'<sublayer>.<key>': array}`` from ``method`` ('params', 'grads' or 'buffers') of
        every sublayer, in order."""
        return {f"{name}.{key}": arr for name, layer in self._sublayers.items()
                for key, arr in getattr(layer, method)().items()}

    def params(self):
        """Dict ``{'<sublayer>.<name>': array}`` of the learnable arrays inside this layer."""
        return self._nested("params")

    def grads(self):
        """Dict of the gradients filled by the last ``backward``, keyed as :meth:`params`."""
        return self._nested("grads")

    def buffers(self):
        """Dict ``{'<sublayer>.<name>': array}`` of the non-learnable saved arrays inside."""
        return self._nested("buffers")

    def state(self):
        return {name: layer.state() for name, layer in self._sublayers.items()}

    def set_state(self, state):
        for name, layer in self._sublayers.items():
            layer.set_state(state[name])

    def reset_parameters(self, init, rng):
        """Each sublayer redraws its parameters, in order, from the one ``rng``."""
        for layer in self._sublayers.values():
            layer.reset_parameters(init, rng)


def check_passes_gradient(owner, layers):
    """Raise a ValueError naming ``owner`` if a layer of ``layers`` (a mapping ``{name:
    layer}``) was built with ``input_grad=False``: it would return no ``dx``, and the
    gradient would stop on its way to the container's input."""
    for name, layer in layers.items():
        if getattr(layer, "input_grad", True) is False:
            raise ValueError(f"{owner}: layer {name!r} ({layer!r}) has input_grad=False, so no gradient "
                             "would reach the layers before it; build it with input_grad=True")
