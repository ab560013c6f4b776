"""Per-feature statistics of an (M, D) matrix with few columns, on rows made wide.

Batch normalisation of a (N, C, H, W) batch works on the (N*H*W, C) matrix whose columns
are the channels. With C = 16 every numpy loop over that matrix runs 16 elements at a
time and pays its per-row overhead N*H*W times: forward and backward of a 16-channel
28x28 batch of 128 took longer than the convolution before it. :class:`ChannelRows` lays
``r`` consecutive rows side by side, the same memory read as a (M/r, r*D) matrix, so each
numpy loop runs over r*D elements; a per-feature vector ``v`` (D,) becomes the wide row
``tile(v, r)``, and a per-feature sum is the wide matrix's column sum folded ``r`` to 1.
For a 2-D batch of many features (an MLP's), ``r`` is 1 and nothing changes.
"""

import numpy as np

#: wide rows are made about this many elements long, at most
WIDE_ROW = 512


class ChannelRows:
    """The (M, D) matrices of one batch seen as (M/r, r*D), ``r`` the largest divisor of M
    with ``r*D <= WIDE_ROW`` (1 when D is already that wide).

    Parameters
    ----------
    m, d : the rows and features (columns) of the matrices to view.
    """

    def __init__(self, m, d):
        r = max(1, min(m, WIDE_ROW // d))
        while m % r:
            r -= 1
        self.m, self.d, self.r = m, d, r

    def wide(self, a):
        """The (M, D) array ``a`` as (M/r, r*D); a view when ``a`` is C-contiguous."""
        return a.reshape(self.m // self.r, self.r * self.d)

    def expand(self, v):
        """A per-feature vector ``v`` (D,) as one wide row (r*D,)."""
        return np.tile(v, self.r) if self.r > 1 else v

    def sum(self, a, out=None):
        """Per-feature sum (D,) of a wide matrix ``a``, written into ``out`` when given."""
        total = np.sum(a, axis=0)
        return np.sum(total.reshape(self.r, self.d), axis=0, out=out)

    def dot(self, a, b, out=None):
        """Per-feature sum of ``a * b`` (D,) over the rows of two wide matrices."""
        total = np.einsum("ij,ij->j", a, b)
        return np.sum(total.reshape(self.r, self.d), axis=0, out=out)
