"""Mini-batches, a random subset and a train/validation split, drawn through ``rng``."""

import numbers

import numpy as np

from bprop.layers.rng import make_rng


def _check_pair(x, t):
    x = np.asarray(x)
    t = np.asarray(t)
    if x.ndim == 0 or t.ndim == 0:
        raise ValueError(
            f"x and t must be arrays with a sample axis, got shapes {x.shape} and {t.shape}")
    if len(x) != len(t):
        raise ValueError(
            f"x and t must have the same length, got len(x)={len(x)} and len(t)={len(t)}")
    return x, t


class SeededBatches:
    """A batch source whose batches come from one random stream, ``self.rng``: its
    ``state_dict`` is where that stream is, so that a resumed run draws the batches of the
    run never stopped (:class:`MiniBatchIterator`, :class:`~bprop.datasets.AugmentedImages`,
    :class:`~bprop.datasets.RandomWindows`)."""

    def state_dict(self):
        """Where the random stream is: every later batch follows from it."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        """Put the random stream back where :meth:`state_dict` found it.

        The state is first set on a new bit generator of the stream's class: one that
        NumPy refuses raises a ValueError naming the class, and the stream is untouched.
        """
        current = self.rng.bit_generator
        trial = type(current)()
        try:
            trial.state = state["rng"]
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as err:
            raise ValueError(f"{type(self).__name__}: the state's rng is not a {type(current).__name__} state "
                             f"({type(err).__name__}: {err}): got {str(state)[:120]}") from None
        current.state = trial.state



class MiniBatchIterator(SeededBatches):
    """Mini-batches of ``(x, t)``; each pass over the iterator is one epoch.

    Every epoch draws a fresh permutation from ``rng``, so each sample appears
    exactly once per epoch and the order differs between epochs. The last batch
    is smaller when ``batch_size`` does not divide ``N``, unless ``drop_last``.

    Parameters
    ----------
    x : (N, ...) array
    t : (N, ...) array
        Labels (or targets) in the same order as ``x``.
    batch_size : int
        Samples per batch, >= 1.
    shuffle : bool
        False keeps the original order and yields views (slices) of ``x`` and ``t``;
        True yields copies in a new order every epoch.
    drop_last : bool
        Drop the final batch if it has fewer than ``batch_size`` samples.
    rng : None, int or np.random.Generator

    Yields
    ------
    x_batch : (B, ...) array
    t_batch : (B, ...) array
        ``B == batch_size`` except possibly for the last batch.

    Examples
    --------
    >>> batches = MiniBatchIterator(x_train, t_train, batch_size=100, rng=0)
    >>> for epoch in range(10):
    ...     for x_batch, t_batch in batches:
    ...         ...
    """

    def __init__(self, x, t, batch_size, shuffle=True, drop_last=False, rng=None):
        self.x, self.t = _check_pair(x, t)
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = make_rng(rng)

    @property
    def n_samples(self):
        return len(self.x)

    def __len__(self):
        """Batches per epoch."""
        full, rest = divmod(self.n_samples, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        n, size = self.n_samples, self.batch_size
        stop = n - n % size if self.drop_last else n
        if not self.shuffle:
            for start in range(0, stop, size):
                yield self.x[start:start + size], self.t[start:start + size]
            return
        order = self.rng.permutation(n)
        for start in range(0, stop, size):
            index = order[start:start + size]
            yield self.x[index], self.t[index]

    def __repr__(self):
        return (f"MiniBatchIterator(n_samples={self.n_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")


def train_val_split(x, t, val_fraction=0.2, shuffle=True, rng=None):
    """Hold out a fraction of the samples for validation.

    ``round(N * val_fraction)`` samples go to validation, the rest to training;
    with ``shuffle`` they are picked by a permutation drawn from ``rng``,
    otherwise validation is the first samples.

    Parameters
    ----------
    x : (N, ...) array
    t : (N, ...) array
    val_fraction : float
        In (0, 1); both parts must end up with at least one sample.
    shuffle : bool
    rng : None, int or np.random.Generator

    Returns
    -------
    (x_train, t_train), (x_val, t_val)
        ``(N - V, ...)`` and ``(V, ...)`` arrays, new copies.
    """
    x, t = _check_pair(x, t)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) \
            or not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    n = len(x)
    n_val = int(round(n * val_fraction))
    if not 0 < n_val < n:
        raise ValueError(
            f"val_fraction={val_fraction} of {n} samples leaves {n_val} for validation "
            f"and {n - n_val} for training; both need at least one"
        )
    order = make_rng(rng).permutation(n) if shuffle else np.arange(n)
    val, train = order[:n_val], order[n_val:]
    return (x[train], t[train]), (x[val], t[val])


def random_subset(x, t, size, rng=None):
    """``size`` samples of ``(x, t)`` picked at random without replacement, in their order.

    The indices are ``sort(rng.choice(N, size, replace=False))``, so the subset keeps the
    order of the data set. With ``size`` None or at least ``N`` nothing is drawn (``rng``
    is left as it was) and ``x`` and ``t`` come back as they are.

    Parameters
    ----------
    x : (N, ...) array
    t : (N, ...) array
    size : int >= 0 or None
    rng : None, int or np.random.Generator

    Returns
    -------
    x_subset : (size, ...) array
    t_subset : (size, ...) array
        New copies, except when nothing is drawn.
    """
    x, t = _check_pair(x, t)
    if size is not None and (isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0):
        raise ValueError(f"size must be None or an int >= 0, got {size!r}")
    if size is None or size >= len(x):
        return x, t
    index = np.sort(make_rng(rng).choice(len(x), size, replace=False))
    return x[index], t[index]
