"""A chain of named layers: how its layers are named, checked, and what shape each one outputs;
and :class:`Chain`, such a chain as one layer (the block of a residual connection, a branch).
"""

from collections import OrderedDict
from collections.abc import Mapping

from bprop.layers import Layer
from bprop.layers.base import check_dout
from bprop.layers.container import Container, check_passes_gradient, check_sublayers


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
    ``owner`` and the fault: no layers, or one of :func:`~bprop.layers.container.check_sublayers`
    (a name that is not a non-empty string, something that is not a bprop layer, one layer
    object in two places, also inside containers)."""
    if isinstance(layers, Mapping):
        layers = OrderedDict(layers)
    elif isinstance(layers, (list, tuple)):
        layers = name_layers(layers)
    else:
        raise ValueError(f"{owner}: layers must be an OrderedDict of named layers or a list, "
                         f"got {type(layers).__name__}")
    if not layers:
        raise ValueError(f"{owner}: needs at least one layer")
    check_sublayers(owner, layers)
    return layers


class Chain(Container):
    """A chain of layers as one layer: ``y = f_L(... f_2(f_1(x)))``, backward the reversed loop.

    What a residual block or a branch of a :class:`~bprop.networks.concat.Concat` is made
    of. Unlike :class:`~bprop.networks.Sequential`, a Chain is a layer, not a network: it
    has no loss layer and no parameter buffer; the network it sits in binds the parameters
    of the layers inside (:meth:`~bprop.layers.Layer.walk`).

    Parameters
    ----------
    layers : OrderedDict ``{name: layer}`` or list of layers, named by :func:`name_layers`
        (``Conv1``, ``BatchNorm1``, ...), as :class:`~bprop.networks.Sequential` takes them.
        Each must pass the gradient back (none built with ``input_grad=False``).

    Shape
    -----
    x : (N, *s) with ``s`` a shape the first layer takes -> y : (N, *o), ``o`` the last
    layer's output shape (:meth:`output_shape`); ``backward`` returns dx in the shape of x.
    """

    def __init__(self, layers):
        layers = check_layers("Chain", layers)
        check_passes_gradient("Chain", layers)
        super().__init__(layers)
        self._out_shape = None  # set by forward, checked by backward

    def extra_repr(self):
        return ", ".join(repr(layer) for layer in self._sublayers.values())

    def output_shape(self, input_shape):
        return next(reversed(output_shapes(self._sublayers, input_shape, owner="Chain").values()))

    def forward(self, x, train=True):
        for layer in self._sublayers.values():
            x = layer.forward(x, train)
        self._out_shape = x.shape
        return x

    def backward(self, dout):
        check_dout(self, dout, self._need_cache(self._out_shape))
        for layer in reversed(self._sublayers.values()):
            dout = layer.backward(dout)
        return dout


def as_layer(owner, what, layers):
    """``layers`` as one layer: a bprop layer as it is, a list or OrderedDict of layers as a
    :class:`Chain`. A ValueError names ``owner`` and ``what`` (``'block'``) otherwise."""
    if isinstance(layers, Layer):
        return layers
    if isinstance(layers, (list, tuple, Mapping)):
        return Chain(layers)
    hint = ""
    if hasattr(layers, "last_layer"):
        hint = (" (a network holds a loss layer and its own parameter buffer; give the list of "
                "layers the block is made of instead)")
    raise ValueError(f"{owner}: {what} must be a bprop layer or a list or OrderedDict of layers, "
                     f"got {type(layers).__name__}{hint}")
