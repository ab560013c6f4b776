"""Random windows of a corpus: a language model's batches when every window is a training example."""

import numpy as np

from bprop.layers.rng import make_rng

from .batching import SeededBatches

__all__ = ["RandomWindows"]


class RandomWindows(SeededBatches):
    """``batches`` batches of ``batch_size`` windows of ``window`` ids, each at a random start
    ``s`` drawn uniformly from ``0 .. L - window - 1``: ``x = ids[s : s + window]`` and its
    targets ``t = ids[s + 1 : s + window + 1]`` (windows may overlap). One pass is one round of
    the Trainer; the starts come from ``rng``, whose state a checkpoint keeps.

    Shape
    -----
    x, t : (batch_size, window) int ids.
    """

    unit = "step"

    def __init__(self, ids, batch_size, window, batches, rng=None):
        self.ids = np.asarray(ids)
        self.batch_size, self.window, self.batches = batch_size, window, batches
        if len(self.ids) < window + 1:
            raise ValueError(f"RandomWindows: {len(self.ids)} ids are too few for windows of {window}; "
                             f"at least {window + 1} are needed")
        self.rng = make_rng(rng)

    def __len__(self):
        return self.batches

    def __iter__(self):
        for _ in range(self.batches):
            index = self.rng.integers(0, len(self.ids) - self.window, self.batch_size)[:, None] + np.arange(self.window)
            yield self.ids[index], self.ids[index + 1]

    def __repr__(self):
        return f"RandomWindows(batch_size={self.batch_size}, window={self.window}, batches={self.batches})"
