"""The PyTorch numbers the transformer-family tests compare against, and how they compare.

``tests/data/transformer_reference.npz`` was written by
``tests/data/make_transformer_reference.py`` with PyTorch; each case's arrays are stored
under ``CASE.NAME``. The tests themselves need no torch.
"""

from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).parent / "data" / "transformer_reference.npz"
#: how close bprop must come to PyTorch: max |a - b| over max |b|, forward and every gradient
TORCH_RTOL = 1e-10


def reference(case):
    """``{name: array}`` of the stored case ``case``."""
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {k[len(case) + 1:]: data[k] for k in data.files if k.startswith(case + ".")}


def normwise_error(a, b):
    """``max |a - b| / max |b|``."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
