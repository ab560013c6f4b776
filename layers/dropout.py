"""Inverted dropout."""

import numpy as np

from .base import Layer, check_dout
from .rng import make_rng


class Dropout(Layer):
    """Inverted dropout: in training each unit is zeroed with probability ``ratio``
    and the survivors are scaled by ``1 / (1 - ratio)``; at evaluation it is the identity.

    ``y = x * m / (1 - ratio)`` with ``m ~ Bernoulli(1 - ratio)`` when ``train`` is
    True, ``y = x`` otherwise; ``dx = dout * m / (1 - ratio)`` (``dout`` in eval mode).

    Parameters
    ----------
    ratio : float in [0, 1), the drop probability.
    rng : None, int or np.random.Generator for the masks.

    Shape: any; y and dx have the shape of x.
    """

    def __init__(self, ratio=0.5, rng=None):
        ratio = float(ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"Dropout: ratio must be in [0, 1), got {ratio}")
        self.ratio = ratio
        self.rng = make_rng(rng)
        self._scale_mask = None  # the mask times 1/(1-ratio); False marks eval mode
        self._shape = None

    def extra_repr(self):
        return f"ratio={self.ratio}"

    def forward(self, x, train=True):
        x = np.asarray(x)
        self._shape = x.shape
        if not train or self.ratio == 0.0:
            self._scale_mask = False
            return x.copy()
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        mask = (self.rng.random(x.shape, dtype=dtype) >= self.ratio).astype(dtype)
        mask *= 1.0 / (1.0 - self.ratio)
        self._scale_mask = mask
        return x * self._scale_mask

    def backward(self, dout):
        mask = self._need_cache(self._scale_mask)
        check_dout(self, dout, self._shape)
        if mask is False:
            return dout.copy()
        return dout * mask

    def state(self):
        return {"rng": self.rng.bit_generator.state}

    def set_state(self, state):
        self.rng.bit_generator.state = state["rng"]
