"""Networks chained from layer objects.

:class:`Sequential` chains any stack of bprop layers; ``MultiLayerNet``, the first
article's ``TwoLayerNet``, ``SimpleConvNet`` and ``DeepConvNet`` are builders on it, and
so is the language model ``RnnLM``.
"""

from bprop.layers.init import init_scale

from .conv_net import DeepConvNet, SimpleConvNet
from .multi_layer_net import MultiLayerNet, TwoLayerNet
from .rnnlm import RnnLM
from .sequential import Sequential, name_layers, output_shapes

__all__ = ["DeepConvNet", "MultiLayerNet", "RnnLM", "Sequential", "SimpleConvNet", "TwoLayerNet",
           "init_scale", "name_layers", "output_shapes"]
