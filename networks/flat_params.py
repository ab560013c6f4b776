"""Parameters (and gradients) stored as views of one contiguous buffer.

A network's ``params`` is a :class:`FlatParams`: an ordinary dict ``{'W1': array, ...}``
whose arrays happen to be views into one 1-D buffer, ``params.flat``. Its gradients
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
    Assigning another array to a key, or deleting one, unlinks the dict from its
    buffer (``flat`` becomes None), so code that replaces an array never has it
    silently ignored.
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

    def _unlink(self):
        self.flat = None
        self.layout = None

    def __setitem__(self, key, value):
        # ``d[k] += x`` stores the same array back: that keeps the link.
        if super().get(key) is not value:
            self._unlink()
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._unlink()
        super().__delitem__(key)

    def update(self, *args, **kwargs):
        self._unlink()
        super().update(*args, **kwargs)

    def pop(self, *args):
        self._unlink()
        return super().pop(*args)

    def popitem(self):
        self._unlink()
        return super().popitem()

    def setdefault(self, key, default=None):
        if key not in self:
            self._unlink()
        return super().setdefault(key, default)

    def clear(self):
        self._unlink()
        super().clear()
