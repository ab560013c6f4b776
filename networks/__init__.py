"""Networks chained from layer objects: ``MultiLayerNet`` and the first article's ``TwoLayerNet``."""

from .base import Net
from .conv_net import DeepConvNet, SimpleConvNet
from .multi_layer_net import MultiLayerNet, TwoLayerNet, init_scale

__all__ = ["MultiLayerNet", "Net", "TwoLayerNet", "init_scale", "DeepConvNet", "SimpleConvNet"]
