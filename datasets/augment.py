"""Shuffled mini-batches of images, each drawn with a random flip and shift: data augmentation.

A batch source for the :class:`~bprop.optim.Trainer`, like
:class:`~bprop.datasets.MiniBatchIterator`: one pass is one epoch over a new permutation,
and every image of a batch is, independently, mirrored left to right with probability 1/2
(``flip``) and moved by ``dy, dx`` pixels drawn uniformly from ``-shift .. shift``, the
uncovered border filled with zeros (the padding-and-random-crop of the ResNet papers). The
network thus never sees the same picture twice, which narrows the gap between training and
test accuracy. Evaluation data is not augmented: pass it as arrays.
"""

import numpy as np

from bprop.layers.checks import check_int
from bprop.layers.rng import make_rng

from .batching import SeededBatches

__all__ = ["AugmentedImages", "flip_and_shift"]


def flip_and_shift(x, flip, dy, dx):
    """``x`` (N, C, H, W) with the images where ``flip`` is True mirrored along W, then
    each image ``n`` moved down by ``dy[n]`` and right by ``dx[n]`` pixels (negative: up,
    left), zeros where nothing moved in. Returns a new array."""
    x = np.where(flip[:, None, None, None], x[..., ::-1], x)
    n, _, h, w = x.shape
    pad = int(max(np.max(np.abs(dy), initial=0), np.max(np.abs(dx), initial=0)))
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    rows = (pad - np.asarray(dy))[:, None] + np.arange(h)  # (N, H): the padded rows each image reads
    cols = (pad - np.asarray(dx))[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


class AugmentedImages(SeededBatches):
    """Batches ``(flip_and_shift(x[b]), t[b])`` over a new permutation every pass.

    Parameters
    ----------
    x : (N, C, H, W) images; t : (N,) or (N, K) targets.
    batch_size : int >= 1; the last batch of a pass may be smaller.
    flip : bool, mirror half of the images left to right (default True).
    shift : int >= 0, the largest move in pixels along each axis (default 2).
    rng : None, int or np.random.Generator; its state is this source's ``state_dict``.
    """

    def __init__(self, x, t, batch_size, flip=True, shift=2, rng=None):
        x, t = np.asarray(x), np.asarray(t)
        if x.ndim != 4 or len(t) != len(x) or len(x) == 0:
            raise ValueError(f"AugmentedImages: x must be images (N, C, H, W) and t have N rows, got shapes "
                             f"{x.shape} and {t.shape}")
        if flip not in (True, False):
            raise ValueError(f"AugmentedImages: flip must be True or False, got {flip!r}")
        self.x, self.t = x, t
        self.batch_size = check_int("AugmentedImages", "batch_size", batch_size)
        self.shift = check_int("AugmentedImages", "shift", shift, 0)
        if self.shift >= min(x.shape[2:]):
            raise ValueError(f"AugmentedImages: shift must be smaller than the image, got {shift} for {x.shape[2:]}")
        self.flip = flip
        self.rng = make_rng(rng)

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        order = self.rng.permutation(len(self.x))
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            n = len(index)
            flip = self.rng.random(n) < 0.5 if self.flip else np.zeros(n, dtype=bool)
            dy, dx = self.rng.integers(-self.shift, self.shift + 1, (2, n))
            yield flip_and_shift(self.x[index], flip, dy, dx), self.t[index]

    def __repr__(self):
        return f"AugmentedImages(batch_size={self.batch_size}, flip={self.flip}, shift={self.shift})"
