"""Flatten: one sample's (C, H, W) map as a vector, between convolutions and Affine."""

import numpy as np

from .base import Layer, check_dout


class Flatten(Layer):
    """``y = x.reshape(N, -1)``: every sample flattened to one row, in C order.

    ``Affine`` flattens its input by itself, so the layer is optional there; it makes
    the shape change visible in a network's summary and lets any layer that wants
    (N, D) follow a convolution. ``backward`` reshapes ``dout`` back.

    Shape
    -----
    x : (N, d1, d2, ...); y : (N, d1*d2*...); dx : the shape of x.
    """

    def __init__(self):
        self._shape = None

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, train=True):
        x = np.asarray(x)
        if x.ndim < 1 or x.shape[0] == 0:
            raise ValueError(f"Flatten: input must be a non-empty batch (N, ...), got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        shape = self._need_cache(self._shape)
        check_dout(self, dout, (shape[0], int(np.prod(shape[1:]))))
        return dout.reshape(shape)
