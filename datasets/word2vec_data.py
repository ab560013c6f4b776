"""word2vec's training pairs: every word of a corpus as a target, with the words around it as its context."""

import numpy as np

from bprop.layers.checks import check_int


def create_contexts_target(corpus, window_size=1):
    """The context windows and their centre words, for CBOW and skip-gram.

    Every position ``i`` with ``window_size`` words on each side is one sample: its target
    is ``corpus[i]`` and its context the ``2 * window_size`` words around it, left to right
    without the centre: ``corpus[i - w], ..., corpus[i - 1], corpus[i + 1], ..., corpus[i + w]``.
    The first and last ``window_size`` words are targets of no sample (they lack a side).

    Parameters
    ----------
    corpus : 1-D integer array of word ids, longer than ``2 * window_size``.
    window_size : int >= 1, the words on each side (default 1).

    Returns
    -------
    contexts : (L - 2w, 2w) int64, one row per target.
    target : (L - 2w,) int64, ``corpus[w:L - w]``.

    Examples
    --------
    >>> create_contexts_target(np.array([0, 1, 2, 3, 4]), 1)
    (array([[0, 2], [1, 3], [2, 4]]), array([1, 2, 3]))
    """
    w = check_int("create_contexts_target", "window_size", window_size)
    corpus = np.asarray(corpus)
    if corpus.ndim != 1 or corpus.dtype.kind not in "iu":
        raise ValueError(f"create_contexts_target: corpus must be a 1-D array of integer ids, got shape "
                         f"{corpus.shape} and dtype {corpus.dtype}")
    if len(corpus) <= 2 * w:
        raise ValueError(f"create_contexts_target: corpus must hold more than 2 * window_size = {2 * w} "
                         f"words, got {len(corpus)}")
    centres = np.arange(w, len(corpus) - w)
    offsets = np.concatenate([np.arange(-w, 0), np.arange(1, w + 1)])  # -w..-1, 1..w
    contexts = corpus[centres[:, None] + offsets].astype(np.int64)
    target = corpus[centres].astype(np.int64)
    return contexts, target
