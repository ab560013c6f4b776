"""The residual connection of ResNet as a layer: ``y = F(x) + x``, or ``F(x) + P(x)``."""

import numpy as np

from bprop.layers.base import check_dout
from bprop.layers.container import Container, check_passes_gradient

from .chain import as_layer


class Residual(Container):
    """Residual block, ``y = F(x) + x``; with a projection P, ``y = F(x) + P(x)``.

    He et al. (2016), *Deep Residual Learning for Image Recognition*: the block ``F`` learns
    the change to its input, and the shortcut carries the input (and its gradient) past
    it unchanged. Backward adds the two paths' gradients:

        dx = dF(x)/dx^T dout + dout            (identity shortcut)
        dx = dF(x)/dx^T dout + dP(x)/dx^T dout (projection)

    A Residual is a layer: it goes into a :class:`~bprop.networks.Sequential` as any other,
    and the network holds the parameters of the layers inside it (numbered as if they stood
    in the chain, see :mod:`bprop.networks.param_buffer`); ``train`` reaches every one of
    them (batch normalisation inside the block). Its sublayers are ``'block'`` and
    ``'projection'``, so a state dict names a running mean inside
    ``'Residual1.block.BatchNorm1.running_mean'``.

    Parameters
    ----------
    block : F, a bprop layer, or a list or OrderedDict of layers run in order (a
        :class:`~bprop.networks.chain.Chain`; a :class:`Sequential` is a whole network with
        a loss and is refused).
    projection : None (default), the identity shortcut; or a layer, or a list of layers,
        mapping x to the shape of F's output when the block changes it: a 1x1
        :class:`~bprop.layers.Convolution` with the block's stride (often followed by a
        BatchNormalization) for images, an :class:`~bprop.layers.Affine` for vectors.

    Every layer inside must pass the gradient back (none built with ``input_grad=False``).

    Shape
    -----
    x : (N, *s) -> y : (N, *o), where ``o`` is F's output shape for ``s``; without a
    projection ``o`` must equal ``s``, with one P's output shape must equal ``o``
    (:meth:`output_shape` raises a ValueError naming both). dx has the shape of x.
    """

    default_name = "Residual"

    def __init__(self, block, projection=None):
        parts = {"block": as_layer("Residual", "block", block)}
        if projection is not None:
            parts["projection"] = as_layer("Residual", "projection", projection)
        check_passes_gradient("Residual", parts)
        super().__init__(parts)
        self.block = parts["block"]
        self.projection = parts.get("projection")
        self._shape = None  # the output shape of the last forward, checked by backward

    def extra_repr(self):
        shortcut = "identity" if self.projection is None else repr(self.projection)
        return f"{self.block!r}, shortcut={shortcut}"

    def _check_shapes(self, block_shape, shortcut_shape, input_shape):
        if tuple(block_shape) != tuple(shortcut_shape):
            if self.projection is None:
                raise ValueError(
                    f"Residual: the block's output shape {tuple(block_shape)} differs from the identity "
                    f"shortcut's (the input's) {tuple(shortcut_shape)}; give a projection (a 1x1 Convolution, "
                    "an Affine) that maps the input to the block's output shape")
            raise ValueError(
                f"Residual: the block's output shape {tuple(block_shape)} differs from the projection's "
                f"output shape {tuple(shortcut_shape)} for the input shape {tuple(input_shape)}")

    def output_shape(self, input_shape):
        input_shape = tuple(int(d) for d in input_shape)
        out = tuple(int(d) for d in self.block.output_shape(input_shape))
        shortcut = input_shape if self.projection is None else \
            tuple(int(d) for d in self.projection.output_shape(input_shape))
        self._check_shapes(out, shortcut, input_shape)
        return out

    def forward(self, x, train=True):
        x = np.asarray(x)
        fx = self.block.forward(x, train)
        px = x if self.projection is None else self.projection.forward(x, train)
        self._check_shapes(fx.shape, px.shape, x.shape)
        self._shape = fx.shape
        return fx + px  # y = F(x) + x, or F(x) + P(x)

    def backward(self, dout):
        check_dout(self, dout, self._need_cache(self._shape))
        dx = self.block.backward(dout)
        dshortcut = dout if self.projection is None else self.projection.backward(dout)
        return dx + dshortcut  # dx = dF/dx^T dout + dout, or + dP/dx^T dout
