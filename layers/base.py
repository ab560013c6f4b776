"""What every layer shares: the forward/backward contract, errors and a readable repr."""

from collections import OrderedDict

import numpy as np


class BackwardBeforeForwardError(RuntimeError, ValueError):
    """``backward`` was called on a layer whose ``forward`` has not run yet.

    It is a ``RuntimeError`` (the calls came in the wrong order) and a ``ValueError``
    (like every other misuse of a layer), so either ``except`` clause catches it.
    """


class Layer:
    """Base class of every layer.

    A layer turns an input into an output in ``forward(x, train=True)``, caches what
    its gradient needs, and in ``backward(dout)`` returns ``dx``, the gradient of the
    loss with respect to its input, as a new array. The gradient of parameter ``W``
    is stored beside it as ``dW`` after ``backward``.

    ``train`` switches layers that behave differently while learning (Dropout,
    BatchNormalization); every other layer accepts it and ignores it.

    What a network needs to know of a layer is declared here, as class attributes and
    methods, so that :class:`bprop.networks.Sequential` can chain any layer:

    - ``param_names``: attribute names of the learnable arrays (``('W', 'b')``);
    - ``decay_names``: those of them that weight decay applies to (``('W',)``);
    - ``buffer_names``: non-learnable arrays that belong in a saved state
      (batch norm's running statistics);
    - :meth:`output_shape`: one sample's output shape for one sample's input shape,
      or a ValueError naming the layer and both shapes;
    - :meth:`reset_parameters`: redraw the parameters in place (He, Xavier, a std);
    - :meth:`bind_params` / :meth:`bind_grad_buffers`: move the parameters into, and
      have gradients written into, a network's shared buffers;
    - :meth:`sublayers`: the layers a container is built from (a residual block's chain,
      a bidirectional LSTM's two directions); a network reaches every layer's parameters
      through :meth:`walk`.
    """

    #: attribute names of the learnable arrays of this layer, e.g. ``('W', 'b')``
    param_names = ()
    #: the learnable arrays that L2 weight decay applies to (weights, not biases or gammas)
    decay_names = ()
    #: non-learnable arrays saved with the parameters, e.g. running statistics
    buffer_names = ()
    #: True for layers whose input is integer ids (Embedding): a network does not cast it
    integer_input = False
    #: True for layers that spread their work over threads themselves (layers.parallel):
    #: a network with one runs each forward and backward inside ``chunk_threads()``
    splits_work = False
    #: the stem of this layer's name in a network (``'Conv'`` gives ``'Conv1'``, ...)
    default_name = None

    @classmethod
    def stem(cls):
        """The stem of an automatic layer name: ``default_name`` or the class name."""
        return cls.default_name or cls.__name__

    def output_shape(self, input_shape):
        """One sample's output shape for one sample's ``input_shape`` (no batch axis).

        The default suits layers that keep the shape (activations, dropout). Layers
        that change it, or accept only some shapes, override this and raise a
        ValueError that names the layer and the shape it got.
        """
        return tuple(input_shape)

    def reset_parameters(self, init, rng):
        """Redraw the parameters in place (``init`` as :func:`bprop.layers.init.init_scale`).

        Layers without parameters have nothing to do.
        """

    def bind_params(self, arrays):
        """Copy each parameter into ``arrays[name]`` and use that array from now on.

        A network passes views of its one parameter buffer here, so that an optimizer
        updating the buffer in place updates the layer.
        """
        for name, buf in arrays.items():
            p = getattr(self, name)
            if buf.shape != p.shape:
                raise ValueError(f"{self.name}: buffer for {name} has shape {buf.shape}, the parameter {p.shape}")
            buf[...] = p
            setattr(self, name, buf)

    def sublayers(self):
        """OrderedDict ``{name: layer}`` of the layers this one is built from; empty for a
        plain layer (see :class:`bprop.layers.container.Container`)."""
        return OrderedDict()

    def walk(self):
        """This layer, then every layer inside it, depth-first (PyTorch's ``modules()``):
        the layers whose own ``param_names`` a network binds, in the order it numbers them."""
        yield self
        for layer in self.sublayers().values():
            yield from layer.walk()

    def forward(self, x, train=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    @property
    def name(self):
        return type(self).__name__

    def params(self):
        """Dict ``{attribute name: array}`` of this layer's learnable arrays."""
        return {p: getattr(self, p) for p in self.param_names}

    def buffers(self):
        """Dict ``{attribute name: array}`` of the arrays named in ``buffer_names``."""
        return {b: getattr(self, b) for b in self.buffer_names}

    def grads(self):
        """Dict ``{attribute name: gradient}`` filled by the last ``backward``."""
        return {p: getattr(self, "d" + p) for p in self.param_names}

    def state(self):
        """Non-learnable state that ``forward`` changes (running statistics, rng streams).

        Returned as a dict of copies, so ``set_state(state())`` puts the layer back
        exactly where it was; gradient checks rely on this.
        """
        return {}

    def set_state(self, state):
        """Restore what :meth:`state` returned."""

    def bind_grad_buffers(self, buffers):
        """Have ``backward`` write the gradient of parameter ``name`` into ``buffers[name]``.

        A network binds views of one gradient buffer here so that the optimizer can
        update all parameters at once; a layer used on its own allocates fresh
        gradient arrays instead. With buffers bound, the arrays ``dW`` etc. are
        overwritten by the next ``backward``: copy them to keep them.
        """
        for name, buf in buffers.items():
            p = getattr(self, name)
            if buf.shape != p.shape or buf.dtype != p.dtype:
                raise ValueError(
                    f"{self.name}: gradient buffer for {name} has shape {buf.shape} and dtype {buf.dtype}, "
                    f"the parameter {p.shape} and {p.dtype}"
                )
        self._grad_buffers = dict(buffers)

    def _grad_out(self, name):
        """The bound buffer for the gradient of ``name``, or None (allocate a new array)."""
        buffers = getattr(self, "_grad_buffers", None)
        return None if buffers is None else buffers.get(name)

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{self.name}({self.extra_repr()})"

    def _need_cache(self, value):
        if value is None:
            raise BackwardBeforeForwardError(
                f"{self.name}.backward was called before {self.name}.forward: "
                "run forward first, it caches what backward needs"
            )
        return value


def check_dout(layer, dout, shape, like=None):
    """Raise a ValueError naming ``layer`` when ``dout`` does not have ``shape``; return
    ``dout``, in the memory layout of ``like`` when given (see :func:`in_layout_of`)."""
    if dout.shape != shape:
        raise ValueError(
            f"{layer.name}.backward: dout has shape {dout.shape}, "
            f"expected {shape} (the shape forward returned)"
        )
    return dout if like is None else in_layout_of(dout, like)


def in_layout_of(dout, ref):
    """``dout`` in the memory layout of ``ref`` (same shape): ``dout`` itself when the
    layouts agree, else a copy laid out like ``ref``.

    An element-wise product of two arrays in different layouts (a channels-first ``dout``
    from an Affine times a channels-last cache from a Convolution) runs several times
    slower in NumPy than a copy into one layout followed by the product.
    """
    if dout.ndim < 3:
        return dout
    out = np.empty_like(ref, dtype=dout.dtype)
    if out.strides == dout.strides:
        return dout
    np.copyto(out, dout)
    return out
