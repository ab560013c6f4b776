"""Parameters (and gradients) stored as views of one contiguous buffer.

A network's ``params`` is a :class:`FlatParams`: a dict ``{'W1': array, ...}`` whose
arrays are views into one 1-D buffer, ``params.flat``, and whose keys are fixed. Its gradients
live the same way in a second buffer with the same layout. Everything that works on
a dict of arrays keeps working; an optimizer that sees ``flat`` on both dicts may
update every parameter with a handful of whole-buffer operations instead of a
handful per parameter, which is what makes small networks train fast.
"""

import numpy as np

#: every array starts on a multiple of this many elements (64 bytes in float32)
ALIGN = 16


class FlatParams(dict):
    """A dict of arrays that are views of the 1-D buffer ``flat``, laid out by ``layout``.

    ``layout`` is a tuple of ``(key, start, stop, shape)``. Between arrays the buffer
    may hold a few padding elements, which stay zero in gradients and so never move.

    The keys are fixed: they are the parameters of the network's layers. Assigning
    to a key writes the value into the buffer (``params['W1'] = W`` copies ``W`` into
    the array ``Affine1.W`` already is), so a parameter can never be detached from its
    layer; the shape must match exactly and the value is cast to the buffer's dtype.
    A new key, or removing one, raises an error.
    """

    def __init__(self, flat, layout):
        super().__init__((k, flat[a:b].reshape(shape)) for k, a, b, shape in layout)
        self.flat = flat
        self.layout = layout

    @classmethod
    def allocate(cls, shapes, dtype):
        """Zero-filled arrays of ``shapes`` (an ordered dict key -> shape) in one buffer."""
        layout, n = [], 0
        for key, shape in shapes.items():
            shape = tuple(int(s) for s in shape)
            size = int(np.prod(shape))
            layout.append((key, n, n + size, shape))
            n += -(-size // ALIGN) * ALIGN
        return cls(np.zeros(n, dtype=dtype), tuple(layout))

    def like(self):
        """A new zero-filled FlatParams with this one's layout and dtype."""
        return FlatParams(np.zeros_like(self.flat), self.layout)

    def __setitem__(self, key, value):
        if key not in self:
            raise KeyError(
                f"no parameter {key!r}: the parameters are those of the network's layers "
                f"({', '.join(self)}); add a layer to add one"
            )
        target = super().__getitem__(key)
        if value is target:  # ``d[k] += x`` already changed the array in place
            return
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(
                f"params[{key!r}] has shape {target.shape}, the new value {value.shape}: "
                "a parameter's shape is fixed by its layer"
            )
        target[...] = value

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def _fixed(self, *args, **kwargs):
        raise TypeError(
            "the parameters of a network are fixed by its layers and cannot be removed; "
            "assign params[key] = array to change a value"
        )

    __delitem__ = pop = popitem = clear = _fixed

    def setdefault(self, key, default=None):
        if key not in self:
            self._fixed()
        return self[key]

    def __reduce__(self):
        # copy.deepcopy and pickle: a new buffer with the same layout and values
        return (FlatParams, (self.flat.copy(), self.layout))
