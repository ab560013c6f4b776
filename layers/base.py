"""What every layer shares: the forward/backward contract, errors and a readable repr."""


class BackwardBeforeForwardError(RuntimeError, ValueError):
    """``backward`` was called on a layer whose ``forward`` has not run yet.

    It is a ``RuntimeError`` (the calls came in the wrong order) and a ``ValueError``
    (like every other misuse of a layer), so either ``except`` clause catches it.
    """


class Layer:
    """Base class of every layer.

    A layer turns an input into an output in ``forward(x, train=True)``, caches what
    its gradient needs, and in ``backward(dout)`` returns ``dx``, the gradient of the
    loss with respect to its input, as a new array. A layer with parameters lists
    their attribute names in ``param_names``; the gradient of parameter ``W`` is
    stored beside it as ``dW`` after ``backward``.

    ``train`` switches layers that behave differently while learning (Dropout,
    BatchNormalization); every other layer accepts it and ignores it.
    """

    #: attribute names of the learnable arrays of this layer, e.g. ``('W', 'b')``
    param_names = ()

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


def check_dout(layer, dout, shape):
    """Raise a ValueError naming ``layer`` when ``dout`` does not have ``shape``."""
    if dout.shape != shape:
        raise ValueError(
            f"{layer.name}.backward: dout has shape {dout.shape}, "
            f"expected {shape} (the shape forward returned)"
        )
