"""Batches for a language model trained by truncated backpropagation through time.

A corpus of ids ``c_0 c_1 ... c_{L-1}`` is cut into ``batch_size`` streams of equal
length ``S = (L - 1) // batch_size``, one after another, and the streams are read side
by side, ``time_size`` steps at a time::

    stream 0:  c_0      ... c_{S-1}        batch 1: columns 0..T-1, batch 2: T..2T-1, ...
    stream 1:  c_S      ... c_{2S-1}
    ...
    stream B-1: c_{(B-1)S} ... c_{BS-1}

The target of every input is the id that follows it in the corpus. Row ``b`` of one
batch continues exactly where row ``b`` of the previous batch stopped, which is what
lets a stateful recurrent layer carry its state from one window to the next: the
gradient is cut at the window's edge (truncated BPTT), the state is not. This is the
``batchify`` of PyTorch's word-language-model example and the textbook's
``offsets`` / ``time_idx`` scheme, without the textbook's wrap-around.
"""

import numpy as np

from bprop.layers.checks import check_int


class BPTTBatches:
    """``(x, t)`` windows of a corpus as ``batch_size`` parallel streams (see the module).

    Each pass over the object is one epoch and yields the windows in order; nothing is
    random. The last window of an epoch is shorter when ``time_size`` does not divide the
    stream length ``S``, so that no id is left out (unless ``drop_last``).

    Parameters
    ----------
    ids : (L,) integer array, the corpus.
    batch_size : int >= 1, the number of streams B; needs ``L >= B + 1``.
    time_size : int >= 1, the steps per window T.
    drop_last : bool, drop a last window shorter than ``time_size``.

    Yields
    ------
    x : (B, T') int ids, ``T' = time_size`` except possibly for the last window.
    t : (B, T') the ids that follow them.

    Attributes
    ----------
    stream_length : S, ids per stream and epoch.
    n_tokens : B * S, the predictions per epoch (what a mean loss per id divides by).

    Examples
    --------
    >>> batches = BPTTBatches(corpus.train, batch_size=32, time_size=50)
    >>> for epoch in range(10):
    ...     model.reset_state()                 # a new epoch starts every stream afresh
    ...     for x, t in batches:
    ...         loss, grads = model.loss_and_gradient(x, t)
    """

    #: what one batch is called in a progress bar
    unit = "window"

    def __init__(self, ids, batch_size, time_size, drop_last=False):
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"BPTTBatches: ids must be a 1-D array of integers, got shape {ids.shape} "
                             f"and dtype {ids.dtype}")
        self.batch_size = check_int("BPTTBatches", "batch_size", batch_size)
        self.time_size = check_int("BPTTBatches", "time_size", time_size)
        self.drop_last = bool(drop_last)
        self.stream_length = (len(ids) - 1) // self.batch_size
        if self.stream_length < 1 or (self.drop_last and self.stream_length < self.time_size):
            need = self.batch_size * (self.time_size if self.drop_last else 1) + 1
            raise ValueError(f"BPTTBatches: {len(ids)} ids are too few for batch_size={self.batch_size}"
                             + (f" and time_size={self.time_size} with drop_last" if self.drop_last else "")
                             + f"; at least {need} are needed")
        n = self.batch_size * self.stream_length
        # views: one (B, S) array of inputs and one of targets, shifted by one id
        self.x = ids[:n].reshape(self.batch_size, self.stream_length)
        self.t = ids[1:n + 1].reshape(self.batch_size, self.stream_length)

    @property
    def n_tokens(self):
        return self.batch_size * (len(self) * self.time_size if self.drop_last else self.stream_length)

    def __len__(self):
        """Windows per epoch."""
        full, rest = divmod(self.stream_length, self.time_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        for start in range(0, len(self) * self.time_size, self.time_size):
            stop = min(start + self.time_size, self.stream_length)
            yield self.x[:, start:stop], self.t[:, start:stop]

    def __repr__(self):
        return (f"BPTTBatches(batch_size={self.batch_size}, time_size={self.time_size}, "
                f"stream_length={self.stream_length}, windows={len(self)})")
