"""Numerical gradients of a whole network, and backprop's checked against them."""

from bprop.layers import numerical_gradient


class GradientCheckMixin:
    """``numerical_gradient`` and ``gradient_check`` for a network.

    The network provides ``params``, ``_as_input(x)`` (the batch cast as its forward
    takes it), ``loss(x, t, train)``, ``gradient(x, t)``, and
    ``state()`` / ``set_state(state)`` for its non-learnable layer state (dropout streams,
    running statistics), which is put back before every evaluation so that backprop and
    the differences see the same network.
    """

    def numerical_gradient(self, x, t, h=1e-4):
        """Central-difference gradients of :meth:`loss` in training mode, same keys as ``params``.

        Layer state is reset before every evaluation to what it was on entry, so the
        result matches :meth:`gradient` called from that same state (same dropout
        masks; running statistics untouched). Slow: two passes per parameter element.
        """
        x = self._as_input(x)
        state = self.state()

        def f():
            self.set_state(state)
            return self.loss(x, t, train=True)

        grads = {k: numerical_gradient(f, p, h) for k, p in self.params.items()}
        self.set_state(state)
        return grads

    def gradient_check(self, x, t, h=1e-5):
        """Backprop and numerical gradients of one batch, from one and the same state.

        Returns ``(analytic, numeric)``, two dicts with the keys of ``params`` (copies),
        ready for :func:`bprop.layers.gradcheck.assert_gradients_close`. Dropout masks and
        batch-norm statistics are reset in between, so the two see the same network.
        """
        state = self.state()
        analytic = {k: g.copy() for k, g in self.gradient(x, t).items()}
        self.set_state(state)
        return analytic, self.numerical_gradient(x, t, h)
