"""Networks chained from layer objects.

:class:`Sequential` chains any stack of bprop layers; ``MultiLayerNet``, the first
article's ``TwoLayerNet``, ``SimpleConvNet`` and ``DeepConvNet`` are builders on it.
"""

from bprop.layers.init import init_scale

from .conv_net import DeepConvNet, SimpleConvNet
from .multi_layer_net import MultiLayerNet, TwoLayerNet
from .sequential import Sequential, name_layers, output_shapes

__all__ = ["DeepConvNet", "MultiLayerNet", "Sequential", "SimpleConvNet", "TwoLayerNet",
           "init_scale", "name_layers", "output_shapes"]
