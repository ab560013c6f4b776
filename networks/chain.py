"""A chain of named layers: how its layers are named, checked, and what shape each one outputs."""

from collections import OrderedDict
from collections.abc import Mapping

from bprop.layers import Layer


def name_layers(layers):
    """An OrderedDict for a list of layers, named as the textbook names them.

    Each layer gets its class's stem and a number counted per stem: ``Conv1``,
    ``Relu1``, ``Pool1``, ``Conv2``, ..., ``Affine1``, ``BatchNorm1``, ``Dropout1``.
    """
    counts, named = {}, OrderedDict()
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ValueError(f"layers[{i}] is not a bprop layer: {layer!r}")
        stem = type(layer).stem()
        counts[stem] = counts.get(stem, 0) + 1
        named[f"{stem}{counts[stem]}"] = layer
    return named


def output_shapes(layers, input_shape, owner="Sequential"):
    """OrderedDict ``{name: one sample's output shape}`` of a chain of layers.

    ``layers`` as :class:`Sequential` takes them (OrderedDict or list). A layer that
    does not fit its input raises a ValueError naming ``owner``, the layer and both shapes.
    """
    if not isinstance(layers, Mapping):
        layers = name_layers(layers)
    shapes, shape = OrderedDict(), tuple(input_shape)
    for name, layer in layers.items():
        try:
            shape = tuple(int(d) for d in layer.output_shape(shape))
        except ValueError as err:
            raise ValueError(f"{owner}: layer {name!r} does not fit its input of shape {shape}: {err}") from None
        shapes[name] = shape
    return shapes


def check_layers(owner, layers):
    """``layers`` as an OrderedDict ``{name: layer}``: an OrderedDict (or any mapping) of
    uniquely named layers as it is, a list named by :func:`name_layers`. A ValueError names
    ``owner`` and the fault: no layers, a name that is not a non-empty string, something
    that is not a bprop layer, or one layer object in two places."""
    if isinstance(layers, Mapping):
        layers = OrderedDict(layers)
    elif isinstance(layers, (list, tuple)):
        layers = name_layers(layers)
    else:
        raise ValueError(f"{owner}: layers must be an OrderedDict of named layers or a list, "
                         f"got {type(layers).__name__}")
    if not layers:
        raise ValueError(f"{owner}: needs at least one layer")
    seen = {}
    for name, layer in layers.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{owner}: layer names must be non-empty strings, got {name!r}")
        if not isinstance(layer, Layer):
            raise ValueError(f"{owner}: layer {name!r} is not a bprop layer: {layer!r}")
        if id(layer) in seen:  # one object twice would share one cache between two places
            raise ValueError(f"{owner}: layer {name!r} is the same object as {seen[id(layer)]!r}; "
                             "create a new layer for each place")
        seen[id(layer)] = name
    return layers
