"""The data a script trains on, or a command's one-line error where it cannot be found.

The loaders explain where they looked and how to point ``BPROP_DATA`` at the files; a script
ends with that explanation (``error: ...``, exit status 1) rather than a traceback.
"""

import sys

import numpy as np

from bprop.datasets import DatasetNotFoundError


def load_data(name="mnist", dtype=np.float32):
    """``(x_train, t_train), (x_test, t_test)`` of MNIST or Fashion-MNIST (integer labels)."""
    from bprop.datasets import load_dataset

    try:
        return load_dataset(name, dtype=dtype)
    except DatasetNotFoundError as err:
        sys.exit(f"error: {err}")


def load_run_data(config, rng=None):
    """``bprop.optim.mlp_runs.load_run_data``: the data of a sweep's run, as its worker will
    pick it."""
    from bprop.optim.mlp_runs import load_run_data

    try:
        return load_run_data(config, rng=rng)
    except DatasetNotFoundError as err:
        sys.exit(f"error: {err}")
