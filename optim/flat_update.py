"""How an optimizer's element-wise rule is run over all the parameters, fast.

An optimizer writes its rule once, for arrays of one shape: ``rule(p, g, *state, buf)``
moves ``p`` in place, updates its state arrays (velocities, moments) in place, and may use
``buf``, scratch space of that shape. :class:`ElementwiseUpdate` runs it

- over a network's whole flat buffer at once, when ``params`` and ``grads`` are views of two
  buffers with one layout (:class:`~bprop.networks.flat_params.FlatParams`): the same
  arithmetic element by element, with a handful of NumPy calls per step instead of a
  handful per parameter, which is what makes small networks train fast;
- in pieces of at most ``chunk`` elements, so that every pass of the rule over a large
  parameter runs in cache;
- with scratch space kept from step to step, so that a step allocates nothing;
- after the weight decay, in the same piece: coupled L2 as PyTorch adds it to the gradient
  (``g + weight_decay * p``, written into scratch space, the caller's gradient left alone),
  or decoupled as PyTorch's AdamW shrinks the parameter (``p *= 1 - lr * weight_decay``).
  Without weight decay the rule gets the caller's ``g`` and no pass is added.

Because the rule is element-wise, none of this changes a single bit of the result.
"""

import numpy as np

__all__ = ["CHUNK", "FLAT", "ElementwiseUpdate"]

#: elements per piece handed to a rule (1 MiB of float32: the passes of a rule over one
#: piece stay in a core's L2 cache; measured best on 784-1000-1000-10)
CHUNK = 1 << 18
#: the state key of a whole flat buffer
FLAT = "__flat__"


class ElementwiseUpdate:
    """Runs an element-wise rule over an optimizer's parameters; owns the scratch space and
    the link between the optimizer's state and a network's flat buffer.

    ``stores`` below are the optimizer's per-parameter state dicts (Momentum's ``v``, Adam's
    ``m`` and ``v``), key -> array of the parameter's shape and dtype.
    """

    def __init__(self):
        #: the flat-buffer layout the stores are linked to (None: not linked)
        self.layout = None
        self._scratch = {}  # dtype -> 2-D array, one row per scratch array, reused by every step

    def match(self, owner, params, grads, stores):
        """The ``(params, grads)`` the rule runs over: one entry :data:`FLAT` for two flat
        buffers of one layout (the stores linked to it), else ``params`` and ``grads``
        once every parameter has a gradient of its shape (a ValueError naming ``owner``)."""
        p_flat = getattr(params, "flat", None)
        g_flat = getattr(grads, "flat", None)
        if (p_flat is not None and g_flat is not None and p_flat.shape == g_flat.shape
                and params.layout == grads.layout):
            if self.layout != params.layout:
                self._link(stores, params.layout, p_flat)
            return {FLAT: p_flat}, {FLAT: g_flat}
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(f"{owner}.update: no gradient for parameter(s) {missing}")
        for k, p in params.items():
            g = grads[k]
            if g.shape != p.shape:
                raise ValueError(f"{owner}.update: grads[{k!r}] has shape {g.shape}, params[{k!r}] {p.shape}")
        return params, grads

    def apply(self, rule, params, grads, stores, chunk=CHUNK, scratch=1, l2=0.0, shrink=1.0):
        """``rule(p, g, *state, *bufs)`` for every parameter, in pieces of at most ``chunk``
        elements where the arrays are contiguous; ``bufs`` are ``scratch`` arrays of the
        piece's shape. Before the rule, each piece is decayed: ``p *= shrink`` (decoupled
        weight decay) and the rule is handed ``g + l2 * p`` (coupled L2)."""
        n = scratch + (l2 != 0.0)  # the coupled gradient needs a scratch array of its own
        for k, p in params.items():
            g = np.asarray(grads[k], dtype=p.dtype)
            state = [_state(store, k, p) for store in stores]
            rows = self._rows(p.dtype, n, min(p.size, chunk))[:n]
            if p.size <= chunk or not (p.flags.c_contiguous and g.flags.c_contiguous):
                if p.size <= rows.shape[1]:
                    bufs = [row[:p.size].reshape(p.shape) for row in rows]
                else:
                    bufs = [np.empty_like(p) for _ in range(n)]
                _decayed_rule(rule, p, g, state, bufs, l2, shrink)
                continue
            pf, gf = p.reshape(-1), g.reshape(-1)
            sf = [s.reshape(-1) for s in state]
            for a in range(0, p.size, chunk):
                b = min(a + chunk, p.size)
                _decayed_rule(rule, pf[a:b], gf[a:b], [s[a:b] for s in sf], [row[:b - a] for row in rows],
                              l2, shrink)

    def _rows(self, dtype, n, size):
        """``n`` rows of scratch space of at least ``size`` elements of ``dtype``, kept from
        step to step (grown, never shrunk)."""
        rows = self._scratch.get(dtype)
        kept_n, kept_size = (0, 0) if rows is None else rows.shape
        if n > kept_n or size > kept_size:
            rows = self._scratch[dtype] = np.empty((max(n, kept_n), max(size, kept_size, 1)), dtype=dtype)
        return rows

    def unlink(self):
        """Forget the flat buffer: the next flat update links the stores as they are then."""
        self.layout = None

    def _link(self, stores, layout, p_flat):
        """Give every store one flat array for ``layout``, plus per-key views of it.

        State already kept for a key is carried over, so switching between dicts of
        separate arrays and flat buffers never loses a velocity or a moment.
        """
        self.layout = layout
        for store in stores:
            flat = np.zeros_like(p_flat)
            for key, a, b, shape in layout:
                view = flat[a:b].reshape(shape)
                old = store.get(key)
                if old is not None and old.shape == shape:
                    view[...] = old
                store[key] = view
            store[FLAT] = flat


def _state(store, key, p):
    # Lazy state initialization: one zero array per parameter, in its dtype.
    s = store.get(key)
    if s is None or s.shape != p.shape:
        s = store[key] = np.zeros_like(p)
    elif s.dtype != p.dtype:
        # A loaded state follows its parameter's dtype instead of being lost.
        s = store[key] = s.astype(p.dtype)
    return s


def _decayed_rule(rule, p, g, state, bufs, l2, shrink):
    """The weight decay of one piece, then ``rule`` on it."""
    if shrink != 1.0:
        p *= shrink
    if l2 != 0.0:
        # PyTorch's coupled weight decay, g + l2 * p, in the last scratch array: the caller's
        # gradient is left as it was.
        coupled = bufs[-1]
        g = np.add(g, np.multiply(p, l2, out=coupled), out=coupled)
        bufs = bufs[:-1]
    rule(p, g, *state, *bufs)
