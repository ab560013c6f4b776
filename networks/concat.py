"""Branches run on one input, their outputs joined: a network that is not one chain, as a layer."""

import numbers
from collections import OrderedDict

import numpy as np

from bprop.layers.base import check_dout
from bprop.layers.container import Container, check_passes_gradient

from .chain import as_layer


class Concat(Container):
    """Concatenation of branches, ``y = [B_1(x), B_2(x), ..., B_K(x)]`` joined along ``axis``.

    Every branch reads the same input (the parallel paths of an Inception block, Szegedy et
    al. 2015). Backward cuts ``dout`` along ``axis`` into the pieces each branch produced
    and adds the branches' gradients, since x fed all of them:

        dx = sum_k dB_k(x)/dx^T dout_k

    A Concat is a layer: it goes into a :class:`~bprop.networks.Sequential` as any other,
    and the network holds the parameters of the layers inside, in branch order (see
    :mod:`bprop.networks.param_buffer`). Its sublayers are ``'branch1'``, ``'branch2'``, ....

    Parameters
    ----------
    branches : list of at least two branches, each a bprop layer or a list or
        OrderedDict of layers run in order (a :class:`~bprop.networks.chain.Chain`). Every
        layer inside must pass the gradient back (none built with ``input_grad=False``).
    axis : int, default 1. The axis of the batch array ``(N, ...)`` along which the outputs
        are joined: 1 is the channels of images ``(N, C, H, W)`` and the features of vectors
        ``(N, D)``; use -1 (the last axis) for the features of sequences ``(N, T, D)``. Not
        the batch axis 0.

    Shape
    -----
    x : (N, *s). Each branch's output (N, *o_k) must agree with the others on every axis
    but ``axis``; y has their sizes along ``axis`` summed (three branches of 16, 32 and 8
    channels give 56). dx has the shape of x.
    """

    default_name = "Concat"

    def __init__(self, branches, axis=1):
        if not isinstance(branches, (list, tuple)):
            raise ValueError(f"Concat: branches must be a list of layers or of lists of layers, "
                             f"got {type(branches).__name__}")
        if len(branches) < 2:
            raise ValueError(f"Concat: needs at least 2 branches, got {len(branches)}")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or axis == 0:
            raise ValueError(f"Concat: axis must be a non-zero integer (0 is the batch axis), got {axis!r}")
        parts = OrderedDict((f"branch{k}", as_layer("Concat", f"branch {k}", branch))
                            for k, branch in enumerate(branches, start=1))
        check_passes_gradient("Concat", parts)
        super().__init__(parts)
        self.branches = list(parts.values())
        self.axis = int(axis)
        self._sizes = self._shape = None  # kept by forward for backward

    def extra_repr(self):
        return f"{', '.join(repr(b) for b in self.branches)}, axis={self.axis}"

    def _batch_axis(self, ndim):
        """``axis`` as a positive axis of an ``ndim``-axis batch array, or a ValueError."""
        a = self.axis + ndim if self.axis < 0 else self.axis
        if not 1 <= a < ndim:
            raise ValueError(f"Concat: axis {self.axis} is not a feature axis of the branches' outputs, "
                             f"which have {ndim} axes with the batch axis (N, ...)")
        return a

    def _check_shapes(self, shapes, a):
        """Raise a ValueError naming every branch's shape unless they agree off axis ``a``."""
        first = shapes[0]
        if any(len(s) != len(first) or s[:a] + s[a + 1:] != first[:a] + first[a + 1:] for s in shapes):
            listed = ", ".join(f"branch{k} {s}" for k, s in enumerate(shapes, start=1))
            raise ValueError(f"Concat: the branches' outputs must agree on every axis but axis {self.axis} "
                             f"to be joined along it, got {listed}")

    def output_shape(self, input_shape):
        input_shape = tuple(int(d) for d in input_shape)
        # with a batch axis in front, so that axis means what it means for the arrays
        shapes = [(1,) + tuple(int(d) for d in b.output_shape(input_shape)) for b in self.branches]
        a = self._batch_axis(len(shapes[0]))
        self._check_shapes(shapes, a)
        out = list(shapes[0])
        out[a] = sum(s[a] for s in shapes)
        return tuple(out[1:])

    def forward(self, x, train=True):
        x = np.asarray(x)
        outs = [branch.forward(x, train) for branch in self.branches]
        a = self._batch_axis(outs[0].ndim)
        self._check_shapes([o.shape for o in outs], a)
        y = np.concatenate(outs, axis=a)  # y = [B_1(x), ..., B_K(x)]
        self._sizes, self._shape = [o.shape[a] for o in outs], y.shape
        return y

    def backward(self, dout):
        sizes = self._need_cache(self._sizes)
        check_dout(self, dout, self._shape)
        pieces = np.split(dout, np.cumsum(sizes)[:-1], axis=self._batch_axis(dout.ndim))
        dxs = [branch.backward(piece) for branch, piece in zip(self.branches, pieces)]
        return sum(dxs[1:], dxs[0])  # dx = sum_k dB_k/dx^T dout_k
